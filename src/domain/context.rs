//! What the phone is told about a login: who asked, from where, with what.

use serde::{Deserialize, Serialize};

/// The context of a login request, kept with the approval and shown to the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginContext {
    /// Name the client app gave itself (`client_name`), or `"unknown client"`.
    pub client_name: String,
    /// The client's IP address as nod determined it (trusted proxies honoured).
    pub ip: String,
    /// The `User-Agent` header, truncated.
    pub user_agent: String,
}

impl LoginContext {
    /// Longest client name or user agent kept: enough to recognise, too little to abuse.
    pub const MAX_FIELD: usize = 200;

    /// Builds a context, trimming and truncating the free-text fields.
    pub fn new(client_name: Option<&str>, ip: String, user_agent: Option<&str>) -> Self {
        let client_name = client_name
            .map(|n| clip(n.trim()))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "unknown client".to_owned());
        let user_agent = user_agent.map(|ua| clip(ua.trim())).unwrap_or_default();
        LoginContext {
            client_name,
            ip,
            user_agent,
        }
    }
}

/// Keeps at most `MAX_FIELD` characters and drops control characters (no log or SMS injection).
fn clip(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(LoginContext::MAX_FIELD)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_is_clipped_and_cleaned() {
        let long = "x".repeat(500);
        let ctx = LoginContext::new(Some("  evil\napp "), "10.0.0.1".into(), Some(&long));
        assert_eq!(ctx.client_name, "evilapp");
        assert_eq!(ctx.user_agent.len(), LoginContext::MAX_FIELD);
        let anon = LoginContext::new(Some("   "), "::1".into(), None);
        assert_eq!(anon.client_name, "unknown client");
    }
}
