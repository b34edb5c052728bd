//! Collection strategies: each turns the members' candidate groups into one ordered list.
//! Groups hold one member's candidates in priority order; members with no usable
//! candidate go last, so the fallback loop still reaches them if everything else fails.

use std::{collections::HashMap, sync::Mutex};

use rand::{Rng, RngCore};

/// Share of `latency_optimized` requests that try a slower route first, so a route that
/// was slow (or failing) and has recovered gets measured again.
pub const EXPLORATION: f64 = 0.1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Random,
    RoundRobin,
    Fallback,
    CostOptimized,
    LatencyOptimized,
}

impl Strategy {
    pub const ALL: [Strategy; 5] = [
        Strategy::Fallback,
        Strategy::RoundRobin,
        Strategy::Random,
        Strategy::CostOptimized,
        Strategy::LatencyOptimized,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Random => "random",
            Strategy::RoundRobin => "round_robin",
            Strategy::Fallback => "fallback",
            Strategy::CostOptimized => "cost_optimized",
            Strategy::LatencyOptimized => "latency_optimized",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Round-robin positions per collection, shared by every request of the process.
#[derive(Default)]
pub struct Cursors(Mutex<HashMap<String, u64>>);

impl Cursors {
    /// The position for this request; advanced unless `peek` (a dry run).
    pub fn next(&self, collection_id: &str, peek: bool) -> u64 {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cursor = map.entry(collection_id.to_owned()).or_default();
        let at = *cursor;
        if !peek {
            *cursor = cursor.wrapping_add(1);
        }
        at
    }
}

pub struct Group<C> {
    pub weight: f64,
    pub items: Vec<C>,
}

/// What a strategy needs to know about a candidate.
pub trait Rated {
    fn usable(&self) -> bool;
    /// Estimated cost of this request in USD, if the model has a price.
    fn cost(&self) -> Option<f64>;
    /// Smoothed latency in ms, if measured.
    fn latency(&self) -> Option<f64>;
}

/// Orders the candidates and says how, in words, for `explain`.
pub fn order<C: Rated>(
    strategy: Strategy,
    groups: Vec<Group<C>>,
    cursor: u64,
    explore: bool,
    rng: &mut dyn RngCore,
) -> (Vec<C>, String) {
    let (mut available, unavailable): (Vec<Group<C>>, Vec<Group<C>>) = groups
        .into_iter()
        .partition(|g| g.items.iter().any(Rated::usable));
    let n = available.len();
    let note = match strategy {
        Strategy::Fallback => "members in the order given".to_owned(),
        Strategy::RoundRobin => {
            if n > 0 {
                let start = usize::try_from(cursor % n as u64).unwrap_or(0);
                available.rotate_left(start);
                format!(
                    "round robin: available member {} of {n} takes this request",
                    start + 1
                )
            } else {
                "round robin: no member is available".to_owned()
            }
        }
        Strategy::Random => {
            // Weighted random permutation: key u^(1/w), largest first.
            let mut keyed: Vec<(f64, Group<C>)> = available
                .drain(..)
                .map(|g| {
                    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
                    (u.powf(1.0 / g.weight.max(f64::EPSILON)), g)
                })
                .collect();
            keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
            available = keyed.into_iter().map(|(_, g)| g).collect();
            format!("random: drawn among {n} available members (weighted)")
        }
        Strategy::CostOptimized | Strategy::LatencyOptimized => {
            return flat(strategy, available, unavailable, explore, rng);
        }
    };
    let items = available
        .into_iter()
        .chain(unavailable)
        .flat_map(|g| g.items)
        .collect();
    (items, note)
}

/// Cost and latency rank single candidates rather than members.
fn flat<C: Rated>(
    strategy: Strategy,
    available: Vec<Group<C>>,
    unavailable: Vec<Group<C>>,
    explore: bool,
    rng: &mut dyn RngCore,
) -> (Vec<C>, String) {
    let (mut usable, rest): (Vec<C>, Vec<C>) = available
        .into_iter()
        .chain(unavailable)
        .flat_map(|g| g.items)
        .partition(Rated::usable);
    let note = if strategy == Strategy::CostOptimized {
        // Stable: equal prices keep member order; unpriced models last.
        usable.sort_by(|a, b| match (a.cost(), b.cost()) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        "cheapest first by estimated cost of this request; unpriced models last".to_owned()
    } else {
        // Unmeasured routes first, so they get measured; then fastest first.
        usable.sort_by(|a, b| {
            a.latency()
                .unwrap_or(-1.0)
                .total_cmp(&b.latency().unwrap_or(-1.0))
        });
        let measured_alternatives = usable.len() > 1 && usable[0].latency().is_some();
        if explore && measured_alternatives {
            let pick = rng.gen_range(1..usable.len());
            let explored = usable.remove(pick);
            usable.insert(0, explored);
            "fastest first by recent latency; this request explores a slower route to re-measure it"
                .to_owned()
        } else {
            "fastest first by recent latency (unmeasured routes first, to measure them)".to_owned()
        }
    };
    usable.extend(rest);
    (usable, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[derive(Debug, Clone, PartialEq)]
    struct C(&'static str, bool, Option<f64>, Option<f64>);

    impl Rated for C {
        fn usable(&self) -> bool {
            self.1
        }
        fn cost(&self) -> Option<f64> {
            self.2
        }
        fn latency(&self) -> Option<f64> {
            self.3
        }
    }

    fn groups(items: &[C]) -> Vec<Group<C>> {
        items
            .iter()
            .map(|c| Group {
                weight: 1.0,
                items: vec![c.clone()],
            })
            .collect()
    }

    fn names(v: &[C]) -> Vec<&'static str> {
        v.iter().map(|c| c.0).collect()
    }

    #[test]
    fn fallback_keeps_order_but_puts_unavailable_members_last() {
        let mut rng = StdRng::seed_from_u64(1);
        let g = groups(&[
            C("a", false, None, None),
            C("b", true, None, None),
            C("c", true, None, None),
        ]);
        let (v, _) = order(Strategy::Fallback, g, 0, false, &mut rng);
        assert_eq!(names(&v), ["b", "c", "a"]);
    }

    #[test]
    fn round_robin_cycles_over_available_members() {
        let mut rng = StdRng::seed_from_u64(1);
        let all = [
            C("a", true, None, None),
            C("b", true, None, None),
            C("c", true, None, None),
        ];
        let firsts: Vec<&str> = (0..6)
            .map(|cursor| order(Strategy::RoundRobin, groups(&all), cursor, false, &mut rng).0[0].0)
            .collect();
        assert_eq!(firsts, ["a", "b", "c", "a", "b", "c"]);
        let (v, _) = order(Strategy::RoundRobin, groups(&all), 1, false, &mut rng);
        assert_eq!(names(&v), ["b", "c", "a"], "the rest follow as fallbacks");
    }

    #[test]
    fn cost_puts_cheapest_first_and_unpriced_last() {
        let mut rng = StdRng::seed_from_u64(1);
        let g = groups(&[
            C("none", true, None, None),
            C("dear", true, Some(0.5), None),
            C("cheap", true, Some(0.01), None),
            C("down", false, Some(0.0), None),
        ]);
        let (v, _) = order(Strategy::CostOptimized, g, 0, false, &mut rng);
        assert_eq!(names(&v), ["cheap", "dear", "none", "down"]);
    }

    #[test]
    fn latency_prefers_fast_measures_unknown_and_explores() {
        let mut rng = StdRng::seed_from_u64(7);
        let g = || {
            groups(&[
                C("slow", true, None, Some(300.0)),
                C("fast", true, None, Some(20.0)),
            ])
        };
        assert_eq!(
            names(&order(Strategy::LatencyOptimized, g(), 0, false, &mut rng).0),
            ["fast", "slow"]
        );
        assert_eq!(
            names(&order(Strategy::LatencyOptimized, g(), 0, true, &mut rng).0),
            ["slow", "fast"]
        );
        let with_new = groups(&[
            C("fast", true, None, Some(20.0)),
            C("new", true, None, None),
        ]);
        assert_eq!(
            order(Strategy::LatencyOptimized, with_new, 0, true, &mut rng).0[0].0,
            "new"
        );
    }

    #[test]
    fn random_is_roughly_uniform_and_respects_weights() {
        let mut rng = StdRng::seed_from_u64(42);
        let mut counts = HashMap::new();
        let members = [
            C("a", true, None, None),
            C("b", true, None, None),
            C("c", true, None, None),
        ];
        for _ in 0..3000 {
            let first = order(Strategy::Random, groups(&members), 0, false, &mut rng).0[0].0;
            *counts.entry(first).or_insert(0) += 1;
        }
        for name in ["a", "b", "c"] {
            let n = counts[name];
            assert!((850..1150).contains(&n), "{name}: {n} of 3000");
        }
        let mut heavy = 0;
        for _ in 0..2000 {
            let mut g = groups(&members[..2]);
            g[0].weight = 3.0;
            if order(Strategy::Random, g, 0, false, &mut rng).0[0].0 == "a" {
                heavy += 1;
            }
        }
        assert!(
            (1350..1650).contains(&heavy),
            "weight 3 vs 1: {heavy} of 2000"
        );
    }

    #[test]
    fn cursors_advance_unless_peeking() {
        let c = Cursors::default();
        assert_eq!(c.next("x", true), 0);
        assert_eq!(c.next("x", false), 0);
        assert_eq!(c.next("x", false), 1);
        assert_eq!(c.next("y", false), 0);
        assert_eq!(c.next("x", true), 2);
    }
}
