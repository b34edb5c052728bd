//! The catalogue of every error code LangMart answers with: each domain's `Coded` impl
//! names its codes from here, and a test holds this list against the README's table, so
//! a code cannot be added, renamed or dropped without the documentation following.

macro_rules! catalogue {
    ($($code:ident),* $(,)?) => {
        $(pub const $code: &str = stringify!($code);)*
        /// Every fixed code.
        pub const ALL: &[&str] = &[$($code),*];
    };
}

catalogue! {
    // authentication and accounts
    GATEWAY1_AUTH_001,
    AUTH_INVALID_CREDENTIALS,
    AUTH_REQUIRED,
    AUTH_TOO_MANY_ATTEMPTS,
    AUTH_BUSY,
    ACCESS_DENIED,
    CROSS_SITE_REQUEST,
    INSUFFICIENT_SCOPE,
    KEY_EXCEEDS_PARENT,
    MODEL_NOT_ALLOWED,
    KEY_RATE_LIMIT_EXCEEDED,
    BUDGET_EXCEEDED,
    MODEL_UNPRICED,
    INVALID_EMAIL,
    WEAK_PASSWORD,
    INVALID_HANDLE,
    RESERVED_HANDLE,
    INVALID_NAME,
    INVALID_FIELD,
    EMAIL_TAKEN,
    SIGNUP_CLOSED,
    SIGNUP_INVITE_REQUIRED,
    SETUP_TOKEN_REQUIRED,
    HANDLE_TAKEN,
    ALREADY_MEMBER,
    ORG_LAST_ADMIN,
    USER_NOT_FOUND,
    ORG_NOT_FOUND,
    MEMBER_NOT_FOUND,
    INVITATION_NOT_FOUND,
    // the HTTP request itself
    NOT_FOUND,
    ROUTE_NOT_FOUND,
    INVALID_JSON,
    INVALID_BODY,
    UNSUPPORTED_MEDIA_TYPE,
    PAYLOAD_TOO_LARGE,
    REQUEST_TIMEOUT,
    OVERLOADED,
    SHUTTING_DOWN,
    // providers and connections
    UNKNOWN_PROVIDER,
    PROVIDER_DISABLED,
    MISSING_FIELD,
    UNKNOWN_FIELD,
    CONNECTION_NOT_FOUND,
    GATEWAY_NOT_FOUND,
    PROVIDER_NOT_FOUND,
    PROVIDER_EXISTS,
    DUPLICATE_MODEL,
    GATEWAY_TIMEOUT_001,
    CONNECTION_MISCONFIGURED,
    ENDPOINT_NOT_ALLOWED,
    LOOP_DETECTED,
    TEST_TOO_SOON,
    // routing
    INVALID_MODEL,
    MODEL_NOT_FOUND,
    NO_AVAILABLE_CONNECTION,
    RATE_LIMIT_EXCEEDED,
    COLLECTION_NOT_FOUND,
    AMBIGUOUS_COLLECTION,
    COLLECTION_EXISTS,
    COLLECTION_BUILT_IN,
    ALIAS_NOT_FOUND,
    ALIAS_EXISTS,
    // the Responses API's stored responses
    RESPONSE_NOT_FOUND,
    PREVIOUS_RESPONSE_NOT_FOUND,
    // streams and the store
    CLIENT_CLOSED_REQUEST,
    GATEWAY3_CONN_001,
    SHARED_STATE_UNAVAILABLE,
    INTERNAL_ERROR,
}

/// Codes made per provider: `PROVIDER_<KEY>_<WHAT>`, with `<WHAT>` an HTTP status or one
/// of these words.
pub const PROVIDER_PATTERNS: &[&str] = &[
    "PROVIDER_<KEY>_<STATUS>",
    "PROVIDER_<KEY>_UNREACHABLE",
    "PROVIDER_<KEY>_BAD_RESPONSE",
    "PROVIDER_<KEY>_TOO_LARGE",
    "PROVIDER_<KEY>_STREAM_INTERRUPTED",
    "PROVIDER_<KEY>_UNSUPPORTED",
    "PROVIDER_<KEY>_CONTENT_BLOCKED",
];

/// `PROVIDER_<KEY>_<WHAT>` for a provider key (`azure-openai` → `AZURE_OPENAI`).
pub fn provider(provider_key: &str, what: &str) -> String {
    format!(
        "PROVIDER_{}_{what}",
        provider_key.to_uppercase().replace('-', "_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The codes in the README's error table (first column, each in backticks).
    fn documented() -> BTreeSet<String> {
        let readme = include_str!("../../../README.md");
        let table = readme
            .split("### Errors")
            .nth(1)
            .expect("README has an Errors section");
        table
            .lines()
            .skip_while(|l| !l.starts_with("| code"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .flat_map(|row| {
                let first = row.split('|').nth(1).unwrap_or_default();
                first
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn the_readme_documents_every_code_and_no_other() {
        let documented = documented();
        let known: BTreeSet<String> = ALL
            .iter()
            .chain(PROVIDER_PATTERNS)
            .map(|c| (*c).to_owned())
            .collect();
        let undocumented: Vec<_> = known.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&known).collect();
        assert!(
            undocumented.is_empty(),
            "codes missing from the README: {undocumented:?}"
        );
        assert!(
            unknown.is_empty(),
            "README codes nothing answers with: {unknown:?}"
        );
    }

    #[test]
    fn codes_are_distinct() {
        let set: BTreeSet<&str> = ALL.iter().copied().collect();
        assert_eq!(set.len(), ALL.len());
        assert_eq!(provider("azure-openai", "429"), "PROVIDER_AZURE_OPENAI_429");
    }
}
