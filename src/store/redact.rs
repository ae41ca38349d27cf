//! Database URLs as they may appear in logs and errors: without a password.

/// `url` with any password replaced by `***`: the one in the user-info part
/// (`postgres://nod:PASSWORD@host/db`) and a `password=` query parameter (libpq style).
/// Something that does not parse as a URL is shown as it is only when it cannot hold a
/// user-info part (no `@`).
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return if url.contains('@') {
            "(unparsable database URL)".to_owned()
        } else {
            url.to_owned()
        };
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query_pairs().any(|(k, _)| k == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "password" { "***".into() } else { v };
                (k.into_owned(), v.into_owned())
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_survive() {
        for (url, expected) in [
            (
                "postgres://nod:s3cret@db:5432/nod",
                "postgres://nod:***@db:5432/nod",
            ),
            (
                "postgresql://nod@db/nod?password=s3cret&sslmode=require",
                "postgresql://nod@db/nod?password=***&sslmode=require",
            ),
            ("postgres://nod@db/nod", "postgres://nod@db/nod"),
            ("sqlite://data/nod.db", "sqlite://data/nod.db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            assert_eq!(redact_url(url), expected);
            assert!(!redact_url(url).contains("s3cret"));
        }
    }
}
