//! Finding the files to ingest, and the documents whose files are gone.

use std::path::{Path, PathBuf};

/// The files found under the given paths.
#[derive(Debug, Default)]
pub struct Walk {
    /// Canonical paths of regular files, sorted, each once.
    pub files: Vec<PathBuf>,
    /// The given paths, absolute: `--prune` looks only below them.
    pub roots: Vec<PathBuf>,
    /// Paths that could not be read, with the reason.
    pub errors: Vec<(PathBuf, String)>,
}

/// Lists the files of `paths`, descending into folders. Hidden entries (`.git`, …) inside
/// folders are skipped; paths that cannot be read are reported.
pub fn walk(paths: &[PathBuf]) -> Walk {
    let mut walk = Walk::default();
    for path in paths {
        if let Ok(abs) = std::path::absolute(path) {
            walk.roots.push(abs);
        }
        match path.canonicalize() {
            Ok(real) => {
                if let Some(root) = walk.roots.last_mut() {
                    // Symlinked roots compare by their real path, as sources are stored.
                    real.clone_into(root);
                }
                visit(&real, &mut walk);
            }
            Err(e) => walk
                .errors
                .push((path.clone(), format!("cannot read: {e}"))),
        }
    }
    walk.files.sort();
    walk.files.dedup();
    walk
}

fn visit(path: &Path, walk: &mut Walk) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            walk.errors
                .push((path.to_owned(), format!("cannot read: {e}")));
            return;
        }
    };
    if meta.is_file() {
        walk.files.push(path.to_owned());
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => {
            walk.errors
                .push((path.to_owned(), format!("cannot read: {e}")));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    children.sort();
    for child in children {
        visit(&child, walk);
    }
}

/// Stored sources below one of `roots` whose files no longer exist.
pub fn gone<'a>(roots: &[PathBuf], sources: impl Iterator<Item = &'a String>) -> Vec<String> {
    sources
        .filter(|s| {
            let p = Path::new(s.as_str());
            roots.iter().any(|r| p.starts_with(r)) && !p.exists()
        })
        .cloned()
        .collect()
}
