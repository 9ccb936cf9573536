//! Retrieval metrics for the knowledge-base benchmarks (`examples/kb_quality`): relevance
//! judgements in the BEIR layout (`qrels.tsv`), recall@k and nDCG@k as BEIR computes them
//! (trec_eval's `ndcg_cut`: linear gains, log2 discount, the ideal ranking of every judged
//! document).

use std::collections::HashMap;

/// One query's judgements: document id → relevance grade (above 0 is relevant).
pub type Judgements = HashMap<String, u32>;

/// Parses a BEIR `qrels.tsv` (`query-id`, `corpus-id`, `score`, tab-separated, with a header
/// line): query id → judgements. A missing score counts 1.
pub fn parse_qrels(text: &str) -> HashMap<String, Judgements> {
    let mut out: HashMap<String, Judgements> = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split('\t').map(str::trim);
        let (Some(query), Some(doc)) = (fields.next(), fields.next()) else {
            continue;
        };
        if query.is_empty() || query == "query-id" {
            continue;
        }
        let grade = fields.next().and_then(|s| s.parse().ok()).unwrap_or(1);
        out.entry(query.to_owned())
            .or_default()
            .insert(doc.to_owned(), grade);
    }
    out
}

/// The first `k` distinct ids of `ids`, in order (a document's later chunks are dropped).
pub fn distinct(ids: impl IntoIterator<Item = String>, k: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if out.len() == k {
            break;
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// Share of the relevant documents found in the first `k` of `ranked`.
pub fn recall_at(ranked: &[String], judged: &Judgements, k: usize) -> f64 {
    let relevant = judged.values().filter(|g| **g > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| judged.get(*d).is_some_and(|g| *g > 0))
        .count();
    found as f64 / relevant as f64
}

/// Normalised discounted cumulative gain of the first `k` of `ranked`: Σ grade / log2(rank + 1)
/// over the found documents, divided by the same sum for the best possible ranking.
pub fn ndcg_at(ranked: &[String], judged: &Judgements, k: usize) -> f64 {
    let discount = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| f64::from(judged.get(d).copied().unwrap_or(0)) * discount(i))
        .sum();
    let mut ideal: Vec<u32> = judged.values().copied().filter(|g| *g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| f64::from(*g) * discount(i))
        .sum();
    if idcg == 0.0 { 0.0 } else { dcg / idcg }
}

/// Mean recall@k and nDCG@k over queries, as the benchmark tables print them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Means {
    pub recall_1: f64,
    pub recall_5: f64,
    pub recall_10: f64,
    pub ndcg_10: f64,
}

/// Accumulates per-query figures into [`Means`].
#[derive(Debug, Default)]
pub struct Scores {
    sum: Means,
    queries: usize,
}

impl Scores {
    /// Adds one query's ranking.
    pub fn add(&mut self, ranked: &[String], judged: &Judgements) {
        self.sum.recall_1 += recall_at(ranked, judged, 1);
        self.sum.recall_5 += recall_at(ranked, judged, 5);
        self.sum.recall_10 += recall_at(ranked, judged, 10);
        self.sum.ndcg_10 += ndcg_at(ranked, judged, 10);
        self.queries += 1;
    }

    /// The means so far (all 0 before any query).
    pub fn means(&self) -> Means {
        let n = self.queries.max(1) as f64;
        Means {
            recall_1: self.sum.recall_1 / n,
            recall_5: self.sum.recall_5 / n,
            recall_10: self.sum.recall_10 / n,
            ndcg_10: self.sum.ndcg_10 / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn judged(list: &[(&str, u32)]) -> Judgements {
        list.iter().map(|(d, g)| ((*d).to_owned(), *g)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn knowledge_eval_ndcg_of_known_rankings() {
        let one = judged(&[("d1", 1)]);
        assert!(close(ndcg_at(&ids(&["d1", "x", "y"]), &one, 10), 1.0));
        // Second place: 1 / log2(3).
        assert!(close(
            ndcg_at(&ids(&["x", "d1"]), &one, 10),
            1.0 / 3f64.log2()
        ));
        // Eleventh place is outside the cut.
        let late: Vec<String> = (0..10)
            .map(|i| format!("x{i}"))
            .chain(["d1".to_owned()])
            .collect();
        assert_eq!(ndcg_at(&late, &one, 10), 0.0);
        // Two relevant documents at ranks 1 and 3: (1 + 1/2) / (1 + 1/log2(3)).
        let two = judged(&[("a", 1), ("b", 1)]);
        let expected = (1.0 + 0.5) / (1.0 + 1.0 / 3f64.log2());
        assert!(close(ndcg_at(&ids(&["a", "x", "b"]), &two, 10), expected));
        // Grades count linearly: the better document first is ideal.
        let graded = judged(&[("a", 2), ("b", 1)]);
        assert!(close(ndcg_at(&ids(&["a", "b"]), &graded, 10), 1.0));
        let swapped = (1.0 + 2.0 / 3f64.log2()) / (2.0 + 1.0 / 3f64.log2());
        assert!(close(ndcg_at(&ids(&["b", "a"]), &graded, 10), swapped));
        // Nothing relevant judged: 0, not NaN.
        assert_eq!(ndcg_at(&ids(&["a"]), &Judgements::new(), 10), 0.0);
    }

    #[test]
    fn knowledge_eval_recall_counts_the_share_of_relevant_documents_found() {
        let three = judged(&[("a", 1), ("b", 1), ("c", 1), ("z", 0)]);
        let ranked = ids(&["a", "z", "x", "c", "b"]);
        assert!(close(recall_at(&ranked, &three, 1), 1.0 / 3.0));
        assert!(close(recall_at(&ranked, &three, 4), 2.0 / 3.0));
        assert!(close(recall_at(&ranked, &three, 10), 1.0));
        assert_eq!(recall_at(&ranked, &Judgements::new(), 10), 0.0);
    }

    #[test]
    fn knowledge_eval_means_over_a_tiny_generated_corpus() {
        // Ten queries q0..q9, each with one relevant document d{i}, ranked at place i + 1.
        let qrels: String = std::iter::once("query-id\tcorpus-id\tscore".to_owned())
            .chain((0..10).map(|i| format!("q{i}\td{i}\t1")))
            .collect::<Vec<_>>()
            .join("\n");
        let qrels = parse_qrels(&qrels);
        assert_eq!(qrels.len(), 10);
        let mut scores = Scores::default();
        for i in 0..10 {
            let mut ranked: Vec<String> = (0..i).map(|j| format!("other{j}")).collect();
            ranked.push(format!("d{i}"));
            scores.add(&ranked, &qrels[&format!("q{i}")]);
        }
        let m = scores.means();
        assert!(close(m.recall_1, 0.1));
        assert!(close(m.recall_5, 0.5));
        assert!(close(m.recall_10, 1.0));
        let expected: f64 = (0..10).map(|i| 1.0 / ((i + 2) as f64).log2()).sum::<f64>() / 10.0;
        assert!(close(m.ndcg_10, expected));
    }

    #[test]
    fn knowledge_eval_distinct_keeps_the_first_k_documents_in_order() {
        let chunks = ids(&["a", "a", "b", "a", "c", "b", "d"]);
        assert_eq!(distinct(chunks.clone(), 3), ids(&["a", "b", "c"]));
        assert_eq!(distinct(chunks, 10), ids(&["a", "b", "c", "d"]));
    }

    #[test]
    fn knowledge_eval_qrels_parse_grades_and_skip_the_header() {
        let q = parse_qrels("query-id\tcorpus-id\tscore\n1\tA\t2\n1\tB\t1\n2\tC\n\n");
        assert_eq!(q["1"], judged(&[("A", 2), ("B", 1)]));
        assert_eq!(q["2"], judged(&[("C", 1)]));
        assert_eq!(q.len(), 2);
    }
}
