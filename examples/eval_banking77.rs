//! Triage classification on BANKING77 with the offline classifier (issue 6, "Measure"): the
//! training set is a tenant's already-categorised history, the test set its new tickets.
//!
//!     cargo run --release --example eval_banking77 -- [--data DIR] [--vectors FILE] [--no-sweep]
//!
//! `DIR` holds `train.csv` and `test.csv` (columns `text,category`); the default is
//! `../shared/data/banking77`. Every text is embedded with the built-in model
//! (`models/all-MiniLM-L6-v2`, or `EMBED_MODEL_DIR`); `--vectors FILE` caches the vectors there
//! (keep it outside the repository) so that a re-run skips the embedding. Then, in a scratch
//! database made from DATABASE_OWNER_URL / DATABASE_URL (.env) and dropped at the end, one
//! ticket per training row is created with its human category and embedding, the table is
//! analysed, and every test row is classified exactly as the offline engine does:
//! `nearest_labelled(k = knn::K)` then `knn::vote`. The query's plan is printed; when the planner
//! does not choose the HNSW index, a second pass forces it. The same vote over an exact in-memory
//! cosine kNN shows what the index costs. A sweep of k and POWER runs in memory on a held-out 10%
//! of the training set (never the test set).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use support_agent::config::Secret;
use support_agent::customers::{self, NewCustomer};
use support_agent::knowledge::embed::{Embedder, LocalEmbedder};
use support_agent::tickets::{self, NewTicket, similar};
use support_agent::triage::knn;
use support_agent::users::{self, NewUser};
use support_agent::validate::MAX_SUBJECT;
use support_agent::{Db, db};

/// One labelled example.
struct Row {
    text: String,
    category: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let mut data = PathBuf::from("../shared/data/banking77");
    let mut sweep = true;
    let mut vectors: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data = PathBuf::from(args.next().context("--data needs a directory")?),
            "--no-sweep" => sweep = false,
            "--vectors" => {
                vectors = Some(PathBuf::from(
                    args.next().context("--vectors needs a file")?,
                ));
            }
            other => bail!(
                "unknown argument {other:?} (expected --data DIR, --vectors FILE or --no-sweep)"
            ),
        }
    }
    let train = read_csv(&data.join("train.csv"))?;
    let test = read_csv(&data.join("test.csv"))?;
    let categories: Vec<String> = train
        .iter()
        .chain(&test)
        .map(|r| r.category.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    println!(
        "BANKING77 from {}: {} training rows, {} test rows, {} categories",
        data.display(),
        train.len(),
        test.len(),
        categories.len()
    );

    if train.is_empty() || test.is_empty() {
        bail!("{}: no training or no test rows", data.display());
    }

    let model_dir = std::env::var("EMBED_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("models/all-MiniLM-L6-v2"));
    let embedder = LocalEmbedder::load(&model_dir)?;
    let n_texts = train.len() + test.len();
    let cached = match &vectors {
        Some(file) if file.is_file() => Some(load_vectors(file, n_texts)?),
        _ => None,
    };
    let (train_vecs, test_vecs) = match cached {
        Some(mut all) => {
            let test_vecs = all.split_off(train.len());
            println!(
                "embedding ({}): {n_texts} vectors read from {} (not timed)",
                embedder.model(),
                vectors.as_deref().unwrap_or(Path::new("")).display()
            );
            (all, test_vecs)
        }
        None => {
            let started = Instant::now();
            let train_vecs = embed_all(&embedder, &train, "train").await?;
            let test_vecs = embed_all(&embedder, &test, "test").await?;
            let embed_time = started.elapsed();
            println!(
                "embedding ({}): {n_texts} texts in {:.1?} ({:.0} texts/s)",
                embedder.model(),
                embed_time,
                n_texts as f64 / embed_time.as_secs_f64()
            );
            if let Some(file) = &vectors {
                save_vectors(file, train_vecs.iter().chain(&test_vecs))?;
            }
            (train_vecs, test_vecs)
        }
    };

    // The exact in-memory kNN, with the product's constants.
    let started = Instant::now();
    let exact: Vec<Option<String>> = test_vecs
        .iter()
        .map(|q| {
            let neighbours = exact_nearest(q, &train_vecs, &train, None, knn::K);
            knn::vote(&neighbours).map(|v| v.category)
        })
        .collect();
    let exact_time = started.elapsed();

    // The product path: pgvector HNSW through the store's functions.
    let owner_url = std::env::var("DATABASE_OWNER_URL").context("DATABASE_OWNER_URL")?;
    let app_url = std::env::var("DATABASE_URL").context("DATABASE_URL")?;
    let name = format!("sa_eval_banking77_{}", std::process::id());
    let base =
        |url: &str, db: &str| format!("{}/{db}", url.rsplit_once('/').map_or(url, |(b, _)| b));
    let mut admin = PgConnection::connect(&base(&owner_url, "postgres")).await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let result = product_path(
        &base(&owner_url, &name),
        &base(&app_url, &name),
        embedder.model(),
        &train,
        &train_vecs,
        &test_vecs,
    )
    .await;
    sqlx::query(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await
        .ok();
    let (passes, load_time) = result?;

    let truth: Vec<&str> = test.iter().map(|r| r.category.as_str()).collect();
    println!();
    println!(
        "k = {}, POWER = {} (src/triage/knn.rs), {} test tickets",
        knn::K,
        knn::POWER,
        test.len()
    );
    println!(
        "loading the history: {} tickets created, categorised and embedded in {:.1?}, then ANALYZE",
        train.len(),
        load_time
    );
    let per_ticket = |t: Duration| t.as_secs_f64() * 1e3 / test.len().max(1) as f64;
    for pass in &passes {
        let (accuracy, macro_f1) = scores(&truth, &pass.predicted, &categories);
        let same = pass
            .predicted
            .iter()
            .zip(&exact)
            .filter(|(a, b)| a == b)
            .count();
        println!(
            "product path, nearest_labelled + knn::vote ({}; plan {} the HNSW index): \
             accuracy {:.2}%, macro-F1 {:.2}%, classification {:.1?} ({:.2} ms per ticket), \
             same answer as the exact kNN on {same}/{}",
            if pass.forced {
                "index forced"
            } else {
                "planner's choice"
            },
            if pass.uses_index {
                "uses"
            } else {
                "does not use"
            },
            100.0 * accuracy,
            100.0 * macro_f1,
            pass.time,
            per_ticket(pass.time),
            test.len()
        );
    }
    let (accuracy, macro_f1) = scores(&truth, &exact, &categories);
    println!(
        "exact in-memory cosine kNN + knn::vote: accuracy {:.2}%, macro-F1 {:.2}%, \
         classification {:.1?} ({:.2} ms per ticket)",
        100.0 * accuracy,
        100.0 * macro_f1,
        exact_time,
        per_ticket(exact_time)
    );

    if sweep {
        sweep_constants(&train, &train_vecs, &categories, &test, &test_vecs);
    }
    Ok(())
}

/// Writes the vectors as little-endian f32s after their count and dimension (u32 each): a
/// cache outside the repository for re-runs (`--vectors FILE`).
fn save_vectors<'a>(
    file: &Path,
    vectors: impl Iterator<Item = &'a Vec<f32>>,
) -> anyhow::Result<()> {
    let vectors: Vec<&Vec<f32>> = vectors.collect();
    let dims = vectors.first().map_or(0, |v| v.len());
    let mut bytes = Vec::with_capacity(8 + 4 * dims * vectors.len());
    bytes.extend(u32::try_from(vectors.len())?.to_le_bytes());
    bytes.extend(u32::try_from(dims)?.to_le_bytes());
    for v in vectors {
        v.iter().for_each(|x| bytes.extend(x.to_le_bytes()));
    }
    std::fs::write(file, bytes).with_context(|| format!("writing {}", file.display()))
}

/// Reads what [`save_vectors`] wrote; `n` vectors are expected.
fn load_vectors(file: &Path, n: usize) -> anyhow::Result<Vec<Vec<f32>>> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let word = |at: usize| -> anyhow::Result<[u8; 4]> {
        Ok(bytes
            .get(at..at + 4)
            .context("truncated vector file")?
            .try_into()?)
    };
    let count = u32::from_le_bytes(word(0)?) as usize;
    let dims = u32::from_le_bytes(word(4)?) as usize;
    if count != n || bytes.len() != 8 + 4 * count * dims {
        bail!("{}: {count} vectors, {n} expected", file.display());
    }
    (0..count)
        .map(|i| {
            (0..dims)
                .map(|j| Ok(f32::from_le_bytes(word(8 + 4 * (i * dims + j))?)))
                .collect()
        })
        .collect()
}

/// Embeds the rows' texts in batches of 64, reporting progress on stderr.
async fn embed_all(
    embedder: &LocalEmbedder,
    rows: &[Row],
    what: &str,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut reported = 0;
    for batch in rows.chunks(64) {
        let texts: Vec<String> = batch.iter().map(|r| r.text.clone()).collect();
        out.extend(embedder.embed(&texts).await?);
        if out.len() - reported >= 1000 || out.len() == rows.len() {
            reported = out.len();
            eprintln!("embedded {reported}/{} {what} texts", rows.len());
        }
    }
    Ok(out)
}

/// Creates the tenant's history and classifies the test rows as the offline engine does.
/// Returns the predictions, the time to load the history and the time to classify.
async fn product_path(
    owner_url: &str,
    app_url: &str,
    model: &str,
    train: &[Row],
    train_vecs: &[Vec<f32>],
    test_vecs: &[Vec<f32>],
) -> anyhow::Result<(Vec<Pass>, Duration)> {
    let owner = PgPoolOptions::new()
        .max_connections(2)
        .connect(owner_url)
        .await?;
    db::migrate(&owner).await?;
    let pool = db::connect("DATABASE_URL", &Secret::from_str(app_url)?, 4, None).await?;
    let db = Db::new(pool);
    let (tenant, _) = users::store::create(
        &db,
        &NewUser {
            name: "BANKING77",
            email: "banking77@example.com",
            password: None,
        },
    )
    .await?;
    let mut tx = db.begin(&tenant).await?;
    let customer = customers::store::create(
        &mut tx,
        &NewCustomer {
            name: "Bank customer",
            email: "customer@example.com",
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;

    let started = Instant::now();
    let rows: Vec<(&Row, &Vec<f32>)> = train.iter().zip(train_vecs).collect();
    for (done, chunk) in rows.chunks(500).enumerate() {
        let mut tx = db.begin(&tenant).await?;
        for (row, vector) in chunk {
            // A text too long for a subject (a few rows) goes whole into the description.
            let long = row.text.trim().chars().count() > MAX_SUBJECT;
            let subject: String = if long {
                row.text
                    .trim()
                    .chars()
                    .take(MAX_SUBJECT - 1)
                    .chain(['…'])
                    .collect()
            } else {
                row.text.clone()
            };
            let new = NewTicket {
                customer_id: customer.id,
                subject: &subject,
                description: long.then_some(row.text.as_str()),
                priority: None,
            };
            let ticket = tickets::store::create(&mut tx, &new).await?;
            similar::set_human_category(&mut tx, ticket.id, &row.category).await?;
            similar::set_embedding(&mut tx, ticket.id, model, vector).await?;
        }
        tx.commit().await?;
        let n = ((done + 1) * 500).min(rows.len());
        if n.is_multiple_of(1000) || n == rows.len() {
            eprintln!("stored {n}/{} labelled tickets", rows.len());
        }
    }
    let load_time = started.elapsed();

    // Statistics, as autovacuum's ANALYZE would have them for a tenant with this history.
    sqlx::query("ANALYZE tickets").execute(&owner).await?;

    let k = i64::try_from(knn::K)?;
    let mut passes = Vec::new();
    for force in [false, true] {
        let uses_index = plan_uses_hnsw(&db, &tenant, &test_vecs[0], model, k, force).await?;
        if force && passes.iter().any(|p: &Pass| p.uses_index) {
            break; // The planner's own choice was already the index.
        }
        let started = Instant::now();
        let mut predicted = Vec::with_capacity(test_vecs.len());
        for (i, query) in test_vecs.iter().enumerate() {
            // One transaction per ticket, as `offline::classify` does.
            let mut tx = db.begin(&tenant).await?;
            if force {
                sqlx::raw_sql(FORCE_INDEX).execute(tx.conn()).await?;
            }
            let neighbours = similar::nearest_labelled(&mut tx, query, model, None, k).await?;
            tx.commit().await?;
            predicted.push(knn::vote(&neighbours).map(|v| v.category));
            if (i + 1).is_multiple_of(1000) {
                eprintln!("classified {}/{} test tickets", i + 1, test_vecs.len());
            }
        }
        passes.push(Pass {
            forced: force,
            uses_index,
            predicted,
            time: started.elapsed(),
        });
    }
    Ok((passes, load_time))
}

/// Planner settings that leave the HNSW index as the only sensible plan (a diagnostic only).
const FORCE_INDEX: &str = "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off";

/// One classification of the test set through `nearest_labelled`.
struct Pass {
    /// Whether the planner was pushed onto the HNSW index ([`FORCE_INDEX`]).
    forced: bool,
    /// Whether the query's plan uses the HNSW index.
    uses_index: bool,
    predicted: Vec<Option<String>>,
    time: Duration,
}

/// Whether the plan of `nearest_labelled`'s query (its SQL and settings, verbatim) uses the
/// HNSW index; the plan goes to stderr.
async fn plan_uses_hnsw(
    db: &Db,
    tenant: &support_agent::Tenant,
    query: &[f32],
    model: &str,
    k: i64,
    force: bool,
) -> anyhow::Result<bool> {
    let mut tx = db.begin(tenant).await?;
    if force {
        sqlx::raw_sql(FORCE_INDEX).execute(tx.conn()).await?;
    }
    sqlx::raw_sql("SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = 100")
        .execute(tx.conn())
        .await?;
    let user_id = tx.user_id();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN (COSTS OFF) SELECT category, 1 - (embedding <=> $2) FROM tickets \
         WHERE user_id = $1 AND category_source = 'human' AND embed_model = $3 \
           AND ($4::uuid IS NULL OR id <> $4) \
         ORDER BY embedding <=> $2 LIMIT $5",
    )
    .bind(user_id)
    .bind(pgvector::Vector::from(query.to_vec()))
    .bind(model)
    .bind(None::<uuid::Uuid>)
    .bind(k)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    let shown: Vec<String> = plan
        .iter()
        .map(|l| match l.find("'[") {
            Some(at) => format!("{}'[…]'::vector))", &l[..at]),
            None => l.clone(),
        })
        .collect();
    eprintln!(
        "plan of nearest_labelled{}:\n  {}",
        if force { " (index forced)" } else { "" },
        shown.join("\n  ")
    );
    Ok(plan.iter().any(|l| l.contains("tickets_embedding_idx")))
}

/// The `k` training rows nearest to `query` by cosine similarity (the vectors are unit length),
/// as (category, similarity), nearest first; `skip` leaves rows out (the held-out slice).
fn exact_nearest(
    query: &[f32],
    vectors: &[Vec<f32>],
    rows: &[Row],
    skip: Option<&dyn Fn(usize) -> bool>,
    k: usize,
) -> Vec<(String, f32)> {
    let mut scored: Vec<(usize, f32)> = vectors
        .iter()
        .enumerate()
        .filter(|(i, _)| skip.is_none_or(|s| !s(*i)))
        .map(|(i, v)| (i, v.iter().zip(query).map(|(a, b)| a * b).sum::<f32>()))
        .collect();
    let k = k.min(scored.len());
    if k == 0 {
        return Vec::new();
    }
    scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
    scored.truncate(k);
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
        .into_iter()
        .map(|(i, s)| (rows[i].category.clone(), s))
        .collect()
}

/// `knn::vote` with other constants: weight = similarity^power over the `k` nearest, ties to
/// the nearer neighbour's category.
fn vote_with(neighbours: &[(String, f32)], k: usize, power: i32) -> Option<String> {
    let mut weights: HashMap<&str, (f32, usize)> = HashMap::new();
    for (rank, (category, similarity)) in neighbours.iter().take(k).enumerate() {
        let e = weights.entry(category.as_str()).or_insert((0.0, rank));
        e.0 += similarity.max(0.0).powi(power);
    }
    weights
        .into_iter()
        .max_by(|a, b| a.1.0.total_cmp(&b.1.0).then_with(|| b.1.1.cmp(&a.1.1)))
        .map(|(c, _)| c.to_owned())
}

/// Accuracy and macro-F1 over `categories` (a missing prediction counts as wrong).
fn scores(truth: &[&str], predicted: &[Option<String>], categories: &[String]) -> (f64, f64) {
    let mut tp: HashMap<&str, usize> = HashMap::new();
    let mut fp: HashMap<&str, usize> = HashMap::new();
    let mut fn_: HashMap<&str, usize> = HashMap::new();
    let mut correct = 0;
    for (t, p) in truth.iter().zip(predicted) {
        match p.as_deref() {
            Some(p) if p == *t => {
                correct += 1;
                *tp.entry(t).or_default() += 1;
            }
            Some(p) => {
                *fp.entry(p).or_default() += 1;
                *fn_.entry(t).or_default() += 1;
            }
            None => *fn_.entry(t).or_default() += 1,
        }
    }
    let f1_sum: f64 = categories
        .iter()
        .map(|c| {
            let tp = tp.get(c.as_str()).copied().unwrap_or(0) as f64;
            let fp = fp.get(c.as_str()).copied().unwrap_or(0) as f64;
            let fn_ = fn_.get(c.as_str()).copied().unwrap_or(0) as f64;
            if tp == 0.0 {
                0.0
            } else {
                2.0 * tp / (2.0 * tp + fp + fn_)
            }
        })
        .sum();
    (
        correct as f64 / truth.len().max(1) as f64,
        f1_sum / categories.len().max(1) as f64,
    )
}

/// k ∈ {1, 5, 10, 20} × POWER ∈ {1, 4, 8} on a held-out 10% of the training set (every tenth
/// row), voting over the other 90%; then the test figure of the best held-out choice.
fn sweep_constants(
    train: &[Row],
    train_vecs: &[Vec<f32>],
    categories: &[String],
    test: &[Row],
    test_vecs: &[Vec<f32>],
) {
    const KS: [usize; 4] = [1, 5, 10, 20];
    const POWERS: [i32; 3] = [1, 4, 8];
    let held_out = |i: usize| i.is_multiple_of(10);
    let max_k = KS.iter().copied().max().unwrap_or(20);
    let started = Instant::now();
    let slice: Vec<usize> = (0..train.len()).filter(|&i| held_out(i)).collect();
    let neighbours: Vec<Vec<(String, f32)>> = slice
        .iter()
        .map(|&i| exact_nearest(&train_vecs[i], train_vecs, train, Some(&held_out), max_k))
        .collect();
    let truth: Vec<&str> = slice.iter().map(|&i| train[i].category.as_str()).collect();
    println!();
    println!(
        "sweep on a held-out 10% of the training set ({} rows, every tenth; {} rows vote), exact kNN:",
        slice.len(),
        train.len() - slice.len()
    );
    println!("| k | POWER | accuracy | macro-F1 |");
    println!("|---|---|---|---|");
    let mut best = (knn::K, knn::POWER, f64::MIN);
    let mut current = 0.0;
    for k in KS {
        for power in POWERS {
            let predicted: Vec<Option<String>> =
                neighbours.iter().map(|n| vote_with(n, k, power)).collect();
            let (accuracy, macro_f1) = scores(&truth, &predicted, categories);
            let mark = if k == knn::K && power == knn::POWER {
                current = accuracy;
                " (knn.rs)"
            } else {
                ""
            };
            println!(
                "| {k} | {power}{mark} | {:.2}% | {:.2}% |",
                100.0 * accuracy,
                100.0 * macro_f1
            );
            if accuracy > best.2 {
                best = (k, power, accuracy);
            }
        }
    }
    // The generic vote must agree with knn::vote at the product's constants.
    let agree = neighbours
        .iter()
        .filter(|n| {
            vote_with(n, knn::K, knn::POWER)
                == knn::vote(&n[..knn::K.min(n.len())]).map(|v| v.category)
        })
        .count();
    println!(
        "vote_with(K, POWER) agrees with knn::vote on {agree}/{} held-out rows",
        neighbours.len()
    );
    println!(
        "best on the held-out slice: k = {}, POWER = {} at {:.2}% (knn.rs constants: {:.2}%); sweep took {:.1?}",
        best.0,
        best.1,
        100.0 * best.2,
        100.0 * current,
        started.elapsed()
    );
    if (best.0, best.1) != (knn::K, knn::POWER) {
        let predicted: Vec<Option<String>> = test_vecs
            .iter()
            .map(|q| {
                vote_with(
                    &exact_nearest(q, train_vecs, train, None, best.0),
                    best.0,
                    best.1,
                )
            })
            .collect();
        let truth: Vec<&str> = test.iter().map(|r| r.category.as_str()).collect();
        let (accuracy, macro_f1) = scores(&truth, &predicted, categories);
        println!(
            "test set with the held-out choice (exact kNN, full training set): accuracy {:.2}%, macro-F1 {:.2}%",
            100.0 * accuracy,
            100.0 * macro_f1
        );
    }
}

/// Reads a `text,category` CSV with a header line; fields may be quoted ("" escapes a quote,
/// and a quoted field may span lines).
fn read_csv(path: &Path) -> anyhow::Result<Vec<Row>> {
    let raw =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let records = parse_csv(&raw);
    let mut records = records.into_iter();
    let header = records.next().context("empty CSV")?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("{}: no column {name:?}", path.display()))
    };
    let (text, category) = (col("text")?, col("category")?);
    let mut rows = Vec::new();
    for (i, record) in records.enumerate() {
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        let field = |c: usize| {
            record
                .get(c)
                .cloned()
                .with_context(|| format!("{} record {}: missing a field", path.display(), i + 2))
        };
        rows.push(Row {
            text: field(text)?,
            category: field(category)?,
        });
    }
    Ok(rows)
}

fn parse_csv(raw: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}
