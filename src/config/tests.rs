//! Tests of configuration loading.

#![allow(clippy::result_large_err)] // figment::Jail's closures return figment's large error
use super::*;
use figment::Jail;

#[test]
fn durations_read_like_people_write_them() {
    assert_eq!(
        Ttl::parse("300s").map(|t| t.0),
        Ok(Duration::from_secs(300))
    );
    assert_eq!(Ttl::parse("5m").map(|t| t.0), Ok(Duration::from_secs(300)));
    assert_eq!(
        Ttl::parse("30d").map(|t| t.0),
        Ok(Duration::from_secs(30 * 86_400))
    );
    assert!(Ttl::parse("soon").is_err());
}

#[test]
fn the_built_in_defaults_load() {
    Jail::expect_with(|_| {
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.tokens.access_ttl.0, Duration::from_secs(300));
        assert_eq!(s.approvals.ttl.0, Duration::from_secs(120));
        assert_eq!(s.server.bind.port(), 8080);
        assert_eq!(s.issuer(), "http://127.0.0.1:8080");
        Ok(())
    });
}

#[test]
fn environment_overrides_files_and_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "nod.toml",
            "[tokens]\naccess_ttl = \"10m\"\naudience = \"api\"\n",
        )?;
        jail.set_env("NOD_TOKENS__ACCESS_TTL", "300s");
        jail.set_env("NOD_CONFIG", "ignored-by-settings");
        let s = Settings::load(Some(Path::new("nod.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(s.tokens.access_ttl.0, Duration::from_secs(300));
        assert_eq!(s.tokens.audience, "api");
        Ok(())
    });
}

#[test]
fn a_bad_value_names_its_key() {
    Jail::expect_with(|jail| {
        jail.set_env("NOD_APPROVALS__TTL", "soon");
        let err = Settings::load(None)
            .err()
            .map(|e| e.to_string().to_lowercase())
            .unwrap_or_default();
        assert!(err.contains("approvals.ttl"), "{err}");
        assert!(err.contains("soon"), "{err}");
        Ok(())
    });
}

#[test]
fn an_unknown_key_is_refused() {
    Jail::expect_with(|jail| {
        jail.create_file("nod.toml", "[tokens]\naccess_tll = \"10m\"\n")?;
        let err = Settings::load(Some(Path::new("nod.toml")))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("access_tll"), "{err}");
        Ok(())
    });
}

#[test]
fn hs256_without_an_hmac_secret_fails_naming_the_key() {
    Jail::expect_with(|jail| {
        jail.set_env("NOD_TOKENS__ALGORITHM", "HS256");
        let err = Settings::load(None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tokens.hmac_secret"), "{err}");
        Ok(())
    });
}

#[test]
fn an_enabled_provider_without_its_keys_fails_naming_the_key() {
    let cases = [
        ("NOD_NOTIFY__WEBHOOK__ENABLED", "notify.webhook.secret"),
        ("NOD_NOTIFY__TWILIO__ENABLED", "notify.twilio.account_sid"),
        (
            "NOD_NOTIFY__FCM__ENABLED",
            "notify.fcm.service_account_file",
        ),
    ];
    for (variable, key) in cases {
        Jail::expect_with(|jail| {
            jail.set_env(variable, "true");
            let err = Settings::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(key), "{variable}: {err}");
            Ok(())
        });
    }
    Jail::expect_with(|jail| {
        jail.set_env("NOD_NOTIFY__NTFY__ENABLED", "true");
        jail.set_env("NOD_NOTIFY__NTFY__TOKEN", "tk_secret");
        let settings = Settings::load(None).map_err(|e| e.to_string())?;
        assert!(settings.notify.ntfy.enabled);
        assert!(!format!("{settings:?}").contains("tk_secret"));
        Ok(())
    });
}

#[test]
fn a_short_or_garbled_hmac_secret_fails_without_showing_it() {
    Jail::expect_with(|jail| {
        jail.set_env("NOD_TOKENS__ALGORITHM", "HS256");
        for bad in ["c2hvcnQtc2VjcmV0", "not base64 at all!"] {
            jail.set_env("NOD_TOKENS__HMAC_SECRET", bad);
            let err = Settings::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("tokens.hmac_secret"), "{err}");
            assert!(!err.contains(bad), "the secret was printed: {err}");
        }
        Ok(())
    });
}

#[test]
fn every_algorithm_and_a_good_hmac_secret_load() {
    Jail::expect_with(|jail| {
        for alg in ["EdDSA", "ES256", "RS256"] {
            jail.set_env("NOD_TOKENS__ALGORITHM", alg);
            Settings::load(None).map_err(|e| e.to_string())?;
        }
        jail.set_env("NOD_TOKENS__ALGORITHM", "HS256");
        // 32 bytes, URL-safe and unpadded: accepted as written.
        jail.set_env(
            "NOD_TOKENS__HMAC_SECRET",
            "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ-_8",
        );
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.tokens.algorithm, SigningAlgorithm::HS256);
        assert_eq!(format!("{:?}", s.tokens.hmac_secret), "Secret(***)");
        jail.set_env("NOD_TOKENS__ALGORITHM", "none");
        assert!(Settings::load(None).is_err());
        Ok(())
    });
}

#[test]
fn an_encryption_key_of_the_wrong_size_names_its_key() {
    Jail::expect_with(|jail| {
        jail.set_env("NOD_TOKENS__ENCRYPT", "true");
        jail.set_env("NOD_TOKENS__ENCRYPTION_KEY", "AAAA");
        let err = Settings::load(None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tokens.encryption_key"), "{err}");
        Ok(())
    });
}

#[test]
fn secrets_do_not_print() {
    assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
}

#[test]
fn sqlite_and_postgres_urls_are_accepted_and_told_apart() {
    let cases = [
        ("sqlite://data/nod.db", DatabaseKind::Sqlite),
        ("sqlite::memory:", DatabaseKind::Sqlite),
        (
            "postgres://nod:pw@db.internal:5432/nod",
            DatabaseKind::Postgres,
        ),
        ("postgresql://nod@localhost/nod", DatabaseKind::Postgres),
    ];
    for (url, kind) in cases {
        Jail::expect_with(|jail| {
            jail.set_env("NOD_DATABASE__URL", url);
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.database.kind(), Some(kind), "{url}");
            Ok(())
        });
    }
}

#[test]
fn another_database_scheme_is_refused_without_showing_the_url() {
    Jail::expect_with(|jail| {
        jail.set_env("NOD_DATABASE__URL", "mysql://nod:hunter2@db/nod");
        let err = Settings::load(None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("database.url"), "{err}");
        assert!(err.contains("postgres://"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        Ok(())
    });
}

#[test]
fn trusted_proxies_take_addresses_and_ranges_and_a_bad_one_names_its_key() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "good.toml",
            "[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\"]\n",
        )?;
        let s = Settings::load(Some(Path::new("good.toml"))).map_err(|e| e.to_string())?;
        let shown: Vec<String> = s
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);

        jail.create_file(
            "bad.toml",
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.1/8\"]\n",
        )?;
        let err = Settings::load(Some(Path::new("bad.toml")))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("trusted_proxies"), "{err}");
        assert!(err.contains("\"10.0.0.0/8\""), "{err}");
        Ok(())
    });
}

#[test]
fn text_settings_take_their_environment_value_as_text() {
    Jail::expect_with(|jail| {
        jail.set_env("NOD_NOTIFY__TWILIO__ENABLED", "true");
        jail.set_env("NOD_NOTIFY__TWILIO__ACCOUNT_SID", "12345");
        jail.set_env("NOD_NOTIFY__TWILIO__AUTH_TOKEN", "0042");
        jail.set_env("NOD_NOTIFY__TWILIO__FROM", "+15550001111");
        jail.set_env("NOD_NOTIFY__WEBHOOK__ENABLED", "true");
        jail.set_env("NOD_NOTIFY__WEBHOOK__SECRET", "0123456789");
        jail.set_env("NOD_TOKENS__AUDIENCE", "true");
        // Numbers and durations written as bare numbers still read as such.
        jail.set_env("NOD_APPROVALS__MAX_PENDING", "3");
        jail.set_env("NOD_TOKENS__ACCESS_TTL", "600");
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.notify.twilio.from, "+15550001111");
        assert_eq!(s.notify.twilio.account_sid, "12345");
        assert_eq!(s.notify.twilio.auth_token.expose(), "0042");
        assert_eq!(s.notify.webhook.secret.expose(), "0123456789");
        assert_eq!(s.tokens.audience, "true");
        assert_eq!(s.approvals.max_pending, 3);
        assert_eq!(s.tokens.access_ttl.0, Duration::from_secs(600));
        Ok(())
    });
}

#[test]
fn a_bare_number_is_a_duration_in_seconds() {
    assert_eq!(Ttl::parse("90").map(|t| t.0), Ok(Duration::from_secs(90)));
    assert!(Ttl::parse("-5").is_err());
}
