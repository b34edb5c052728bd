//! What a call cost: its usage at the model's price (USD per million tokens). Prompt
//! tokens read from or written to the provider's cache are charged at their own rates
//! when the price has them, else at the input price. Computed once per request-log row,
//! from the routing snapshot's prices: no SQL on the request path.

use crate::gateway::Usage;
use crate::routing::catalog::Price;

/// Where the usage behind a cost came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The provider's own usage figures.
    Reported,
    /// Counted by the gateway (about four characters a token): a stream that was
    /// cancelled or broke before the provider's usage arrived, or a provider that sends
    /// none.
    Estimated,
    /// The model has no price: the cost is unknown.
    Unpriced,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Reported => "reported",
            Basis::Estimated => "estimated",
            Basis::Unpriced => "unpriced",
        }
    }
}

/// A row's cost: `None` when the model has no price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    pub usd: Option<f64>,
    pub basis: Basis,
}

/// `usage` at `price`.
pub fn of(price: Option<Price>, usage: &Usage) -> Cost {
    let basis = if usage.estimated {
        Basis::Estimated
    } else {
        Basis::Reported
    };
    match price {
        None => Cost {
            usd: None,
            basis: Basis::Unpriced,
        },
        Some(p) => Cost {
            usd: Some(usd(&p, usage)),
            basis,
        },
    }
}

fn usd(p: &Price, u: &Usage) -> f64 {
    let tokens = |n: Option<i64>| n.unwrap_or(0).max(0) as f64;
    let prompt = tokens(u.prompt);
    let read = tokens(u.cache_read).min(prompt);
    let write = tokens(u.cache_write).min(prompt - read);
    let fresh = prompt - read - write;
    let per_token = |per_mtok: f64| per_mtok / 1_000_000.0;
    fresh * per_token(p.input_per_mtok)
        + read * per_token(p.cached_input_per_mtok.unwrap_or(p.input_per_mtok))
        + write * per_token(p.cache_write_per_mtok.unwrap_or(p.input_per_mtok))
        + tokens(u.completion) * per_token(p.output_per_mtok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(cached: Option<f64>, write: Option<f64>) -> Price {
        Price {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
            cached_input_per_mtok: cached,
            cache_write_per_mtok: write,
        }
    }

    fn usage(prompt: i64, completion: i64, read: Option<i64>, write: Option<i64>) -> Usage {
        Usage {
            prompt: Some(prompt),
            completion: Some(completion),
            cache_read: read,
            cache_write: write,
            estimated: false,
        }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn tokens_are_charged_at_their_rates() {
        // 1M fresh prompt tokens at $3 + 1M output at $15.
        let c = of(
            Some(price(None, None)),
            &usage(1_000_000, 1_000_000, None, None),
        );
        assert!(close(c.usd, 18.0), "{c:?}");
        assert_eq!(c.basis, Basis::Reported);
        // Anthropic-style: 1000 prompt tokens of which 600 read from cache at $0.30 and
        // 300 written at $3.75; 100 fresh at $3; 50 output at $15.
        let c = of(
            Some(price(Some(0.3), Some(3.75))),
            &usage(1000, 50, Some(600), Some(300)),
        );
        let expected = (100.0 * 3.0 + 600.0 * 0.3 + 300.0 * 3.75 + 50.0 * 15.0) / 1e6;
        assert!(close(c.usd, expected), "{c:?} vs {expected}");
        // Without cache rates, cached tokens cost the input price.
        let c = of(Some(price(None, None)), &usage(1000, 0, Some(600), None));
        assert!(close(c.usd, 1000.0 * 3.0 / 1e6), "{c:?}");
    }

    #[test]
    fn unknown_prices_and_estimates_say_so() {
        let c = of(None, &usage(10, 10, None, None));
        assert_eq!((c.usd, c.basis), (None, Basis::Unpriced));
        let mut u = usage(10, 10, None, None);
        u.estimated = true;
        assert_eq!(of(Some(price(None, None)), &u).basis, Basis::Estimated);
        // Nonsense figures never make a negative cost.
        let c = of(Some(price(None, None)), &usage(-5, -5, Some(99), Some(99)));
        assert!(close(c.usd, 0.0), "{c:?}");
    }
}
