//! Finding the files to ingest, and the documents whose files are gone.
//!
//! Only what lies inside the given paths is read: a symbolic link whose target is outside them
//! (`guide.md -> /etc/passwd`) is skipped with a reason, and so is a file larger than the limit.
//! A link that stays inside is followed once, so a link back to a parent folder cannot loop.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The files found under the given paths.
#[derive(Debug, Default)]
pub struct Walk {
    /// Canonical paths of regular files, sorted, each once.
    pub files: Vec<PathBuf>,
    /// The given paths, absolute: `--prune` looks only below them.
    pub roots: Vec<PathBuf>,
    /// Paths that could not be read or were refused, with the reason.
    pub errors: Vec<(PathBuf, String)>,
}

/// Lists the files of `paths`, descending into folders. Hidden entries (`.git`, …) inside
/// folders are skipped; paths that cannot be read, links out of the given paths and files over
/// `max_bytes` are reported.
pub fn walk(paths: &[PathBuf], max_bytes: u64) -> Walk {
    let mut walk = Walk::default();
    let mut real_roots = Vec::new();
    for path in paths {
        match path.canonicalize() {
            Ok(real) => real_roots.push(real),
            Err(e) => walk
                .errors
                .push((path.clone(), format!("cannot read: {e}"))),
        }
    }
    // Symlinked roots compare by their real path, as sources are stored.
    walk.roots.clone_from(&real_roots);
    let mut seen = HashSet::new();
    for root in &real_roots {
        visit(root, &real_roots, max_bytes, &mut seen, &mut walk);
    }
    walk.files.sort();
    walk.files.dedup();
    walk
}

fn visit(
    path: &Path,
    roots: &[PathBuf],
    max_bytes: u64,
    seen: &mut HashSet<PathBuf>,
    walk: &mut Walk,
) {
    let link = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => {
            walk.errors
                .push((path.to_owned(), format!("cannot read: {e}")));
            return;
        }
    };
    let real = if link.file_type().is_symlink() {
        match path.canonicalize() {
            Ok(target) if roots.iter().any(|r| target.starts_with(r)) => target,
            Ok(_) => {
                walk.errors.push((
                    path.to_owned(),
                    "skipped: a symbolic link to a path outside the given folders".into(),
                ));
                return;
            }
            Err(e) => {
                walk.errors.push((
                    path.to_owned(),
                    format!("skipped: a broken symbolic link ({e})"),
                ));
                return;
            }
        }
    } else {
        path.to_owned()
    };
    if !seen.insert(real.clone()) {
        return;
    }
    let meta = match std::fs::metadata(&real) {
        Ok(m) => m,
        Err(e) => {
            walk.errors
                .push((path.to_owned(), format!("cannot read: {e}")));
            return;
        }
    };
    if meta.is_file() {
        if meta.len() > max_bytes {
            walk.errors
                .push((path.to_owned(), too_large(meta.len(), max_bytes)));
        } else {
            walk.files.push(real);
        }
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let entries = match std::fs::read_dir(&real) {
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
        visit(&child, roots, max_bytes, seen, walk);
    }
}

fn too_large(len: u64, max: u64) -> String {
    format!("skipped: {len} bytes is larger than KB_MAX_FILE_BYTES ({max} bytes)")
}

/// Reads at most `max_bytes` of `path`: a file that grew past the limit since it was listed is
/// refused, not read whole.
pub fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64, max_bytes));
    }
    Ok(bytes)
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
