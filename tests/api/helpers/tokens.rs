//! Using tokens as resource servers and clients do: forward-auth, introspection, refresh.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::TestApp;

impl TestApp {
    /// Forward-auth as a proxy would call it, for `GET api.example/orders/42`.
    pub async fn verify(&self, token: &str) -> reqwest::Response {
        self.verify_use(token, "/orders/42").await
    }

    /// Forward-auth of a use of `GET api.example{path}`.
    pub async fn verify_use(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url("/v1/verify"))
            .bearer_auth(token)
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-host", "api.example")
            .header("x-forwarded-uri", path)
            .send()
            .await
            .expect("verify request")
    }

    /// Registers a resource server; returns its secret.
    pub async fn resource_server(&self, name: &str) -> String {
        let secret = nod::auth::secrets::new_secret().expect("secret");
        self.state
            .store
            .create_resource_server(&nod::store::ResourceServer {
                name: name.into(),
                secret_hash: nod::auth::secrets::digest_secret(&secret),
                created_at: 0,
            })
            .await
            .expect("resource server stored");
        self.state
            .refresh_resource_servers()
            .await
            .expect("resource servers reloaded");
        secret
    }

    /// `POST /v1/introspect` as the resource server `rs` (name, secret).
    pub async fn introspect(&self, token: &str, rs: (&str, &str)) -> reqwest::Response {
        self.client
            .post(self.url("/v1/introspect"))
            .basic_auth(rs.0, Some(rs.1))
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspection request")
    }

    /// The refresh-token grant at `/v1/token`.
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.client
            .post(self.url("/v1/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .expect("refresh request")
    }
}

/// The claims of a signed token, unverified.
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("JSON claims")
}
