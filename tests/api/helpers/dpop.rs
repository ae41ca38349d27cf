//! A DPoP client (RFC 9449): its key pair, its proofs, and logins and token uses bound to it.

use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use nod::auth::dpop::token_hash;
use nod::auth::keys::algorithms::generate_pkcs8;
use nod::config::SigningAlgorithm;
use serde_json::{Value, json};

use super::{CIBA, PASSWORD, Pending, Phone, TestApp};

/// The request the resource server's proxy forwards in these tests.
pub const API_URL: &str = "https://api.example/orders/42";

/// A client's key pair, as the app on a phone would hold it.
pub struct ClientKey {
    key: EncodingKey,
    alg: Algorithm,
    /// The public key, as the app sends it at enrolment.
    pub jwk: Jwk,
    /// The key's RFC 7638 thumbprint, as `cnf.jkt` names it.
    pub jkt: String,
}

impl ClientKey {
    pub fn new(alg: SigningAlgorithm) -> Self {
        let der = generate_pkcs8(alg).unwrap();
        let (key, alg) = match alg {
            SigningAlgorithm::ES256 => (EncodingKey::from_ec_der(&der), Algorithm::ES256),
            _ => (EncodingKey::from_ed_der(&der), Algorithm::EdDSA),
        };
        let jwk = Jwk::from_encoding_key(&key, alg).unwrap();
        let jkt = jwk.thumbprint(ThumbprintHash::SHA256).unwrap();
        Self { key, alg, jwk, jkt }
    }

    /// A fresh proof for `method url` made at `iat` (Unix seconds), for `token` if given.
    pub fn proof_at(&self, method: &str, url: &str, iat: i64, token: Option<&str>) -> String {
        let mut claims = json!({
            "jti": nod::auth::secrets::new_id().unwrap(),
            "htm": method,
            "htu": url,
            "iat": iat,
        });
        if let Some(token) = token {
            claims["ath"] = json!(token_hash(token));
        }
        self.sign(&claims)
    }

    /// A proof with exactly these `claims`, signed by this key.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        encode(&header, claims, &self.key).unwrap()
    }
}

impl TestApp {
    pub fn now_secs(&self) -> i64 {
        self.state.clock.now_ms().div_euclid(1000)
    }

    /// A proof for a POST to one of nod's own endpoints.
    pub fn proof_for(&self, key: &ClientKey, path: &str) -> String {
        let url = format!("{}{path}", self.state.settings.server.public_url.as_str());
        key.proof_at("POST", &url, self.now_secs(), None)
    }

    /// A proof for the forwarded API request, for `token`.
    pub fn api_proof(&self, key: &ClientKey, token: &str) -> String {
        key.proof_at("GET", API_URL, self.now_secs(), Some(token))
    }

    pub async fn login_with_proof(
        &self,
        username: &str,
        proof: Option<String>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/v1/login"))
            .json(&json!({"username": username, "password": PASSWORD, "client_name": "dpop app"}));
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        request.send().await.unwrap()
    }

    pub async fn token_with_proof(
        &self,
        form: &[(&str, &str)],
        proof: Option<String>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url("/v1/token")).form(form);
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        request.send().await.unwrap()
    }

    pub async fn redeem_with(
        &self,
        auth_req_id: &str,
        key: Option<&ClientKey>,
    ) -> reqwest::Response {
        let proof = key.map(|k| self.proof_for(k, "/v1/token"));
        self.token_with_proof(&[("grant_type", CIBA), ("auth_req_id", auth_req_id)], proof)
            .await
    }

    pub async fn refresh_with(
        &self,
        refresh_token: &str,
        key: Option<&ClientKey>,
    ) -> reqwest::Response {
        let proof = key.map(|k| self.proof_for(k, "/v1/token"));
        self.token_with_proof(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            proof,
        )
        .await
    }

    /// Logs in with a proof from `key` and approves on the phone; the approval is not redeemed.
    pub async fn bound_login(&self, phone: &Phone, key: &ClientKey) -> Pending {
        let response = self
            .login_with_proof(&phone.username, Some(self.proof_for(key, "/v1/login")))
            .await;
        assert_eq!(response.status(), 202);
        let pending = Pending::from_login(response).await;
        self.approve_on_phone(phone, &pending).await;
        pending
    }

    /// Login and token both bound to `key`: the token response.
    pub async fn bound_sign_in(&self, phone: &Phone, key: &ClientKey) -> Value {
        let pending = self.bound_login(phone, key).await;
        let response = self.redeem_with(&pending.auth_req_id, Some(key)).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Forward-auth of a DPoP-scheme use, as the proxy forwards it.
    pub async fn verify_dpop(
        &self,
        token: &str,
        proof: Option<&str>,
        method: &str,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .get(self.url("/v1/verify"))
            .header("authorization", format!("DPoP {token}"))
            .header("x-forwarded-method", method)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "api.example")
            .header("x-forwarded-uri", "/orders/42?page=2");
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        request.send().await.unwrap()
    }
}
