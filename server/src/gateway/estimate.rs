//! The size of a request before it is sent: about a token per four characters of prompt,
//! plus the maximum output asked for. Reserved against tpm budgets up front, used for
//! cost estimates and as the count_tokens estimate for connections that cannot count.

use serde_json::Value;

use crate::routing::RequestSize;

/// Estimate of completion tokens when the request sets no maximum.
pub const DEFAULT_COMPLETION_ESTIMATE: u64 = 256;

/// Tokens expected for a request whose prompt is `prompt` and whose maximum output is
/// `max_output` (when it sets one).
pub fn request_size(prompt: Option<&Value>, max_output: Option<u64>, stream: bool) -> RequestSize {
    let bytes = u64::try_from(prompt.map_or(0, json_len)).unwrap_or(u64::MAX);
    RequestSize {
        prompt_tokens: bytes / 4,
        completion_tokens: max_output.unwrap_or(DEFAULT_COMPLETION_ESTIMATE),
        stream,
        prompt_bytes: bytes,
        max_output,
    }
}

/// About the length of `v` as JSON text, without writing it out (this runs per request).
pub fn json_len(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) => 4,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|i| json_len(i) + 1).sum::<usize>(),
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| k.len() + 4 + json_len(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_length_is_close_to_the_written_length() {
        let v = json!([{"role": "user", "content": "x".repeat(400)}, {"role": "assistant", "content": null, "n": 3}]);
        let written = v.to_string().len();
        let estimated = json_len(&v);
        assert!(
            estimated.abs_diff(written) * 10 <= written,
            "{estimated} vs {written}"
        );
    }

    #[test]
    fn token_estimate_uses_the_asked_maximum() {
        let messages = json!([{"role": "user", "content": "x".repeat(400)}]);
        let size = request_size(Some(&messages), Some(100), false);
        let n = size.prompt_tokens + size.completion_tokens;
        assert!((200..=230).contains(&n), "{n}");
        assert_eq!(size.completion_tokens, 100);
        assert_eq!(
            request_size(None, None, true).completion_tokens,
            DEFAULT_COMPLETION_ESTIMATE
        );
    }
}
