//! The offline classifier: a similarity-weighted vote of the nearest tickets a person has
//! categorised (k-nearest neighbours over embeddings).

use std::collections::HashMap;

/// Neighbours that vote.
pub const K: usize = 10;
/// How sharply closer neighbours outweigh farther ones: weight = similarity^POWER.
pub const POWER: i32 = 4;

/// The winning category and its share of the vote (0 to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Vote {
    pub category: String,
    pub confidence: f32,
}

/// Votes over `neighbours` (category, cosine similarity), nearest first. `None` without any.
pub fn vote(neighbours: &[(String, f32)]) -> Option<Vote> {
    let mut weights: HashMap<&str, f32> = HashMap::new();
    let mut total = 0.0;
    for (category, similarity) in neighbours.iter().take(K) {
        let w = similarity.max(0.0).powi(POWER);
        *weights.entry(category.as_str()).or_default() += w;
        total += w;
    }
    // Ties go to the category of the nearer neighbour: the first one listed.
    let order = |c: &str| {
        neighbours
            .iter()
            .position(|(n, _)| n == c)
            .unwrap_or(usize::MAX)
    };
    let (category, weight) = weights.into_iter().max_by(|a, b| {
        a.1.total_cmp(&b.1)
            .then_with(|| order(b.0).cmp(&order(a.0)))
    })?;
    Some(Vote {
        category: category.to_owned(),
        confidence: if total > 0.0 { weight / total } else { 0.0 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(c: &str, s: f32) -> (String, f32) {
        (c.to_owned(), s)
    }

    #[test]
    fn closer_neighbours_outweigh_more_numerous_far_ones() {
        let v = vote(&[
            n("refund", 0.95),
            n("cancel", 0.60),
            n("cancel", 0.58),
            n("cancel", 0.55),
        ])
        .expect("vote");
        assert_eq!(v.category, "refund");
        assert!(v.confidence > 0.5 && v.confidence <= 1.0);
    }

    #[test]
    fn ties_go_to_the_nearest_and_no_neighbours_no_vote() {
        assert_eq!(
            vote(&[n("a", 0.8), n("b", 0.8)]).expect("vote").category,
            "a"
        );
        assert!(vote(&[]).is_none());
    }
}
