//! Property-test inputs for the decoders of provider answers: arbitrary JSON, and real
//! answers (the test fixtures) with one part swapped for arbitrary JSON, which reaches far
//! deeper into a decoder than random bytes, which fail at the first brace.
//!
//! The number of cases is proptest's (`PROPTEST_CASES`, 256 by default); the README
//! records a long run.

use proptest::prelude::*;
use serde_json::Value;

/// Key names the decoders look for, so arbitrary objects often hit real branches.
const KEYS: &[&str] = &[
    "type",
    "text",
    "content",
    "choices",
    "delta",
    "message",
    "usage",
    "role",
    "id",
    "name",
    "input",
    "index",
    "candidates",
    "parts",
    "finishReason",
    "stop_reason",
    "tool_calls",
    "arguments",
    "function",
    "event",
    "data",
    "error",
    "code",
    "contentBlockDelta",
    "toolUse",
    "output",
    "stopReason",
    "metadata",
    "input_tokens",
    "output_tokens",
];

/// Any JSON value, a few levels deep.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(KEYS).prop_map(|k| Value::String(k.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KEYS).prop_map(str::to_owned),
                        "[a-z_]{1,8}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer in `v` (the root included).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// `sample` with one part (anywhere in it) replaced by arbitrary JSON.
pub fn mutated(sample: Value) -> impl Strategy<Value = Value> {
    let mut paths = Vec::new();
    pointers(&sample, String::new(), &mut paths);
    (prop::sample::select(paths), json()).prop_map(move |(path, replacement)| {
        let mut v = sample.clone();
        if let Some(slot) = v.pointer_mut(&path) {
            *slot = replacement;
        }
        v
    })
}

/// The `data:` payloads of an SSE fixture, with one event's JSON mutated.
pub fn mutated_events(sse: &str) -> impl Strategy<Value = Vec<String>> {
    let events: Vec<Value> = sse
        .split("\n\n")
        .filter_map(|frame| frame.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|data| serde_json::from_str(data).ok())
        .collect();
    let n = events.len().max(1);
    (0..n).prop_flat_map(move |i| {
        let events = events.clone();
        let target = events.get(i).cloned().unwrap_or(Value::Null);
        mutated(target).prop_map(move |changed| {
            let mut all = events.clone();
            if let Some(slot) = all.get_mut(i) {
                *slot = changed;
            }
            all.iter().map(Value::to_string).collect()
        })
    })
}

/// One case for an adapter's decoders: `answer` through `convert` (when it still reads as
/// `A`), the `events` in order through one stream state, and `bytes` as an event through a
/// fresh one. Nothing is asserted but that none of it panics.
pub fn run_decoders<A: serde::de::DeserializeOwned, S>(
    answer: Value,
    convert: impl FnOnce(A),
    events: &[String],
    bytes: &[u8],
    new_state: impl Fn() -> S,
    on_event: impl Fn(&mut S, &str),
) {
    if let Ok(a) = serde_json::from_value::<A>(answer) {
        convert(a);
    }
    let mut state = new_state();
    for data in events {
        on_event(&mut state, data);
    }
    on_event(&mut new_state(), &String::from_utf8_lossy(bytes));
}
