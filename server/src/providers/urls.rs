//! Provider URLs, parsed once per worker thread. reqwest parses a string URL on every
//! request (IDNA processing of the host included), which was ~4% of the gateway's CPU per
//! request in `perf`; a connection's endpoint URLs are few and never change meaning, so a
//! parsed copy is kept and cloned.

use std::{cell::RefCell, collections::HashMap};

use reqwest::{Client, RequestBuilder, Url};

/// Per thread; past this many distinct URLs the memo starts over (URLs with a model in the
/// path grow with connections × models).
const MAX_URLS: usize = 1_024;

thread_local! {
    static PARSED: RefCell<HashMap<String, Url>> = RefCell::new(HashMap::new());
}

/// `client.post(url)` without parsing a URL seen before on this thread. A URL that does not
/// parse goes to reqwest as text, which reports it as it always has.
pub fn post(client: &Client, url: String) -> RequestBuilder {
    match parsed(url) {
        Ok(url) => client.post(url),
        Err(text) => client.post(text),
    }
}

fn parsed(url: String) -> Result<Url, String> {
    PARSED.with_borrow_mut(|memo| {
        if let Some(known) = memo.get(&url) {
            return Ok(known.clone());
        }
        let parsed = Url::parse(&url).map_err(|_| url.clone())?;
        if memo.len() >= MAX_URLS {
            memo.clear();
        }
        memo.insert(url, parsed.clone());
        Ok(parsed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_parsed_once_and_kept_as_it_was_written() {
        let first = parsed("https://api.example.com/v1/chat/completions".into()).unwrap();
        let again = parsed("https://api.example.com/v1/chat/completions".into()).unwrap();
        assert_eq!(first, again);
        assert_eq!(
            first.as_str(),
            "https://api.example.com/v1/chat/completions"
        );
        assert!(PARSED.with_borrow(|m| m.len()) >= 1);
    }

    #[test]
    fn a_bad_url_comes_back_as_text_and_is_not_kept() {
        assert_eq!(parsed("not a url".into()), Err("not a url".to_owned()));
        assert!(PARSED.with_borrow(|m| !m.contains_key("not a url")));
    }
}
