//! Issue 5: refresh that is safe across processes, permanent and transient refresh failures,
//! revoke on logout and `codex login token`, against oidc-provider (rotation on) and the fake
//! of OpenAI's issuer.

mod common;

use common::{
    Background, Env, Peer, READING, expire_access_token, field_names, jwt, now_secs, saved,
    sign_in_with_oidc,
};
use serde_json::{Value, json};

fn refresh_grants(peer: &Peer) -> usize {
    peer.requests()
        .iter()
        .filter(|r| {
            r["grant_type"] == "refresh_token" || r["parsed"]["grant_type"] == "refresh_token"
        })
        .count()
}

fn stored(env: &Env) -> Value {
    serde_json::from_str(&env.read_auth()).unwrap()
}

/// `codex logout`, which must succeed and revoke the sign-in at `issuer`: the revoke request.
fn logout_revoking(env: &Env, issuer: &Peer) -> Value {
    env.run(&["logout"])
        .assert(0, "", "Successfully logged out\n");
    issuer
        .requests()
        .into_iter()
        .find(|r| r["path"] == "/oauth/revoke")
        .expect("revoked")
}

#[test]
fn thirty_two_processes_refresh_once() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[("ROTATE_REFRESH", "1")]);
    sign_in_with_oidc(&env, &oidc);
    let expired = expire_access_token(&env);
    let old_refresh = stored(&env)["tokens"]["refresh_token"].clone();

    let children: Vec<_> = (0..32)
        .map(|_| {
            env.cmd(&["login", "token"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let tokens: std::collections::HashSet<String> = outputs
        .iter()
        .map(|o| {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(o.stderr, b"");
            String::from_utf8(o.stdout.clone()).unwrap()
        })
        .collect();
    assert_eq!(tokens.len(), 1, "every process prints the same fresh token");
    let token = tokens.into_iter().next().unwrap();
    assert_ne!(token.trim(), expired);
    assert_eq!(
        token,
        format!(
            "{}\n",
            stored(&env)["tokens"]["access_token"].as_str().unwrap()
        )
    );
    assert_eq!(
        refresh_grants(&oidc),
        1,
        "the issuer saw exactly one refresh grant"
    );
    assert_ne!(
        stored(&env)["tokens"]["refresh_token"],
        old_refresh,
        "rotated"
    );

    // Still signed in: a valid token is used as is, no further refresh.
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, token);
    assert_eq!(refresh_grants(&oidc), 1);
    let status = env.run(&["login", "status"]);
    assert_eq!(status.code, 0);
    let s = status.stderr;
    assert!(s.starts_with("Logged in using ChatGPT\n  Account: alice@example.com (ChatGPT plus plan)\n  Access token expires: "), "{s}");
    assert!(
        s.contains("(in 59 min)") || s.contains("(in 60 min)"),
        "{s}"
    );
    assert!(s.contains("\n  Last refreshed: 20"), "{s}");
}

#[test]
fn short_lived_access_tokens_refresh_once_per_command() {
    let env = Env::new();
    // Tokens that are always due: 60 s left of a 660 s lifetime (`iat` 600 s back); a minute of
    // life leaves room for a loaded machine (an expired token is never handed out).
    let oidc = Peer::oidc(
        env.dir.path(),
        &[("ACCESS_TTL", "60"), ("ACCESS_IAT_OFFSET", "-600")],
    );
    sign_in_with_oidc(&env, &oidc);
    for round in 1..=3 {
        let run = env.run(&["login", "token"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(
            refresh_grants(&oidc),
            round,
            "one refresh per command, then the new token is used as is"
        );
    }
}

#[test]
fn a_reused_refresh_token_is_a_permanent_failure() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[("ROTATE_REFRESH", "1")]);
    sign_in_with_oidc(&env, &oidc);
    expire_access_token(&env);
    let stale = env.read_auth();
    assert_eq!(env.run(&["login", "token"]).code, 0);
    // Another copy still holding the rotated-away refresh token (what a refresh race makes).
    env.write_auth(&stale);
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    // The sign-in is saved account `alice@example.com` (every sign-in is one): the advice
    // keeps it, where `codex logout` would drop it from the saved accounts.
    assert_eq!(
        run.stderr,
        "the ChatGPT sign-in of account `alice@example.com` can no longer be refreshed (invalid_grant): it expired or was revoked. Sign in to it again with `codex login --account alice@example.com`\n"
    );
    assert_eq!(
        refresh_grants(&oidc),
        2,
        "a permanent failure is not retried"
    );
}

#[test]
fn logout_revokes_at_the_oidc_issuer() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[]);
    sign_in_with_oidc(&env, &oidc);
    let saved = env.read_auth();
    let refresh = stored(&env)["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    env.run(&["logout"])
        .assert(0, "", "Successfully logged out\n");
    assert!(!env.auth_path().exists());
    let revokes: Vec<Value> = oidc
        .requests()
        .into_iter()
        .filter(|r| r["endpoint"] == "revocation")
        .collect();
    assert_eq!(revokes.len(), 1, "{revokes:?}");
    assert_eq!(revokes[0]["body"]["token"], refresh.as_str());
    assert_eq!(revokes[0]["body"]["token_type_hint"], "refresh_token");
    assert_eq!(
        revokes[0]["content_type"],
        "application/x-www-form-urlencoded"
    );
    // The issuer really forgot it: the refresh token no longer works.
    env.write_auth(&saved);
    expire_access_token(&env);
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("(invalid_grant)"), "{run:?}");
}

/// The fake OpenAI issuer, knowing the refresh token `rt-1`, with these scenarios.
fn issuer_knowing_rt1(env: &Env, scenarios: &[&str]) -> Peer {
    let mut args = vec!["--seed-refresh-token", "rt-1"];
    for scenario in scenarios {
        args.extend(["--scenario", scenario]);
    }
    Peer::fake_issuer(env.dir.path(), &args)
}

/// An auth.json minted by the fake OpenAI issuer at `issuer`, with an expired access token.
fn fake_chatgpt_doc(issuer: &str, refresh: &str) -> String {
    let id = jwt(
        json!({"email": "user@example.com", "exp": now_secs() + 3600,
        "https://api.openai.com/auth": {"chatgpt_plan_type": "pro", "chatgpt_account_id": "acct_fake_1"}}),
    );
    serde_json::to_string_pretty(&json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": id,
            "access_token": jwt(json!({"exp": now_secs() - 60})),
            "refresh_token": refresh,
            "oauth_provenance": {"issuer": issuer, "client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "protocol": "openai"},
            "login_owner_id": "b3duZXItaWQtd3JpdHRlbi1ieS10aGUtcmVmZXJlbmNl",
            "account_id": "acct_fake_1",
            "future_field": {"kept": true}
        },
        "last_refresh": "2026-01-01T00:00:00.000Z",
        "top_level_future": 7
    }))
    .unwrap()
}

#[test]
fn openai_refresh_is_json_to_the_recorded_issuer_and_keeps_unknown_fields() {
    let env = Env::new();
    let minted_by = Peer::fake_issuer(env.dir.path(), &["--seed-refresh-token", "rt-seed-1"]);
    let configured = Peer::fake_issuer(env.dir.path(), &[]);
    env.write_auth(&fake_chatgpt_doc(&minted_by.url, "rt-seed-1"));
    let mut cmd = env.cmd(&["login", "token"]);
    cmd.env("CODEX_AUTH_ISSUER", &configured.url)
        .env("CODEX_AUTH_PROTOCOL", "openai");
    let run = common::run_cmd(cmd, None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(refresh_grants(&configured), 0);
    let refreshes: Vec<Value> = minted_by
        .requests()
        .into_iter()
        .filter(|r| r["path"] == "/oauth/token")
        .collect();
    assert_eq!(refreshes.len(), 1);
    assert_eq!(refreshes[0]["body_type"], "json");
    assert_eq!(
        refreshes[0]["parsed"],
        json!({"client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "grant_type": "refresh_token",
               "refresh_reason": "proactive_expiry", "refresh_token": "rt-seed-1"})
    );
    let doc = stored(&env);
    assert_eq!(
        format!("{}\n", doc["tokens"]["access_token"].as_str().unwrap()),
        run.stdout
    );
    assert_ne!(doc["tokens"]["refresh_token"], "rt-seed-1");
    assert_eq!(doc["tokens"]["future_field"], json!({"kept": true}));
    assert_eq!(
        doc["tokens"]["login_owner_id"],
        "b3duZXItaWQtd3JpdHRlbi1ieS10aGUtcmVmZXJlbmNl"
    );
    assert_eq!(
        field_names(&doc["tokens"]),
        [
            "id_token",
            "access_token",
            "refresh_token",
            "oauth_provenance",
            "login_owner_id",
            "account_id",
            "future_field"
        ],
        "the reference's key order, unknown fields after"
    );
    assert_eq!(doc["top_level_future"], 7);
    assert_ne!(doc["last_refresh"], "2026-01-01T00:00:00.000Z");
}

#[test]
fn a_sign_in_written_by_the_reference_speaks_openai_whatever_its_issuer() {
    // The reference writes no `protocol` and speaks only OpenAI's; the issuer here is a loopback
    // URL, which alone would suggest a standard OpenID provider.
    let env = Env::new();
    let fake = issuer_knowing_rt1(&env, &[]);
    let mut doc: Value = serde_json::from_str(&fake_chatgpt_doc(&fake.url, "rt-1")).unwrap();
    doc["tokens"]["oauth_provenance"]
        .as_object_mut()
        .unwrap()
        .remove("protocol");
    env.write_auth(&serde_json::to_string_pretty(&doc).unwrap());
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    let requests = fake.requests();
    let refresh = requests
        .iter()
        .find(|r| r["path"] == "/oauth/token")
        .expect("a refresh");
    assert_eq!(refresh["body_type"], "json", "{refresh}");
    assert_eq!(
        refresh["parsed"],
        json!({"client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "grant_type": "refresh_token",
               "refresh_reason": "proactive_expiry", "refresh_token": "rt-1"})
    );
    assert_eq!(
        stored(&env)["tokens"]["oauth_provenance"],
        doc["tokens"]["oauth_provenance"],
        "the reference's provenance is kept as it was"
    );

    let revoke = logout_revoking(&env, &fake);
    assert_eq!(revoke["body_type"], "json", "{revoke}");
}

#[test]
fn permanent_codes_stop_at_once_and_transient_ones_are_retried() {
    let cases = [
        ("refresh-expired", 1, 1, "refresh_token_expired"),
        ("refresh-reused", 1, 1, "refresh_token_reused"),
        ("refresh-invalidated", 1, 1, "refresh_token_invalidated"),
        ("refresh-500:1", 0, 2, ""),
        ("refresh-500", 1, 3, "HTTP 500"),
    ];
    std::thread::scope(|s| {
        for (scenario, code, requests, text) in cases {
            s.spawn(move || {
                let env = Env::new();
                let fake = issuer_knowing_rt1(&env, &[scenario]);
                let doc = fake_chatgpt_doc(&fake.url, "rt-1");
                env.write_auth(&doc);
                let run = env.run(&["login", "token"]);
                assert_eq!(run.code, code, "{scenario}: {run:?}");
                assert_eq!(refresh_grants(&fake), requests, "{scenario}");
                if code == 1 {
                    assert!(run.stderr.contains(text), "{scenario}: {run:?}");
                    assert_eq!(env.read_auth(), doc, "{scenario}: a failed refresh changes nothing");
                }
                if text.starts_with("refresh_token_") {
                    assert_eq!(run.stderr, format!("your ChatGPT sign-in can no longer be refreshed ({text}): it expired or was revoked. Run `codex logout` and then `codex login`\n"));
                }
            });
        }
    });
}

#[test]
fn a_holder_killed_mid_refresh_does_not_block_the_next_process() {
    let env = Env::new();
    let fake = issuer_knowing_rt1(&env, &["refresh-hang:1"]);
    env.write_auth(&fake_chatgpt_doc(&fake.url, "rt-1"));
    let holder = Background::spawn(env.cmd(&["login", "token"]));
    for _ in 0..200 {
        if refresh_grants(&fake) == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        refresh_grants(&fake),
        1,
        "the first process is refreshing, holding the lock"
    );
    std::process::Command::new("kill")
        .args(["-KILL", &holder.pid().to_string()])
        .status()
        .unwrap();
    assert_eq!(holder.finish(10).code, -1);
    let run = Background::spawn(env.cmd(&["login", "token"])).finish(20);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(refresh_grants(&fake), 2);
}

#[test]
fn logout_revoke_openai_and_a_failed_revoke_is_a_warning() {
    let env = Env::new();
    let fake = issuer_knowing_rt1(&env, &[]);
    env.write_auth(&fake_chatgpt_doc(&fake.url, "rt-1"));
    let revoke = logout_revoking(&env, &fake);
    assert_eq!(revoke["body_type"], "json");
    assert_eq!(
        revoke["parsed"],
        json!({"token": "rt-1", "token_type_hint": "refresh_token", "client_id": "app_EMoamEEZ73f0CkXaXp7hrann"})
    );

    let failing = Peer::fake_issuer(env.dir.path(), &["--scenario", "revoke-500"]);
    env.write_auth(&fake_chatgpt_doc(&failing.url, "rt-2"));
    env.run(&["logout"]).assert(
        0,
        "",
        &format!("warning: could not revoke the sign-in at the issuer (`{}/oauth/revoke` answered HTTP 500 Internal Server Error); the local credentials are removed anyway\nSuccessfully logged out\n", failing.url),
    );
    assert!(!env.auth_path().exists());
}

#[test]
fn login_token_prints_only_the_credential() {
    let env = Env::new();
    env.run(&["login", "token"])
        .assert(1, "", "Not logged in. Run `codex login` to sign in.\n");
    env.write_auth(
        "{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"sk-token-test-1234567\"\n}",
    );
    env.run(&["login", "token"])
        .assert(0, "sk-token-test-1234567\n", "");
}

#[test]
fn absurd_expiry_claims_do_not_crash() {
    let env = Env::new();
    let fake = issuer_knowing_rt1(&env, &[]);
    let mut doc: Value = serde_json::from_str(&fake_chatgpt_doc(&fake.url, "rt-1")).unwrap();
    doc["tokens"]["access_token"] = Value::String(jwt(json!({"exp": i64::MIN})));
    env.write_auth(&doc.to_string());
    let status = env.run(&["login", "status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status.stderr.contains("Access token expires: "),
        "{status:?}"
    );
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        refresh_grants(&fake),
        1,
        "a token with an absurd expiry is refreshed"
    );
}

#[test]
fn a_waiting_process_says_so_and_proceeds_when_the_lock_is_released() {
    let env = Env::new();
    // Another process holds auth.lock for 3 s (util-linux flock, the same OS lock).
    let lock = env.home.join("auth.lock");
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "3"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let run = env.run_stdin(&["login", "--api-key", "-"], b"sk-waited-for-the-lock-0001");
    holder.wait().unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "{READING}waiting for another `codex` process that is updating the credentials (it holds `{}`)...\n{}",
            lock.display(),
            saved("apikey-0001")
        )
    );
}

fn days_ago(days: i64) -> String {
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs((days * 86_400) as u64);
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    // RFC 3339 via the civil calendar (no date crate in the tests).
    let (z, s) = (secs.div_euclid(86_400) + 719_468, secs.rem_euclid(86_400));
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

#[test]
fn without_exp_a_token_is_refreshed_eight_days_after_last_refresh() {
    for (age_days, expected_grants) in [(1, 0), (9, 1)] {
        let env = Env::new();
        let fake = issuer_knowing_rt1(&env, &[]);
        let mut doc: Value = serde_json::from_str(&fake_chatgpt_doc(&fake.url, "rt-1")).unwrap();
        doc["tokens"]["access_token"] = json!("opaque-access-token-without-exp");
        doc["last_refresh"] = json!(days_ago(age_days));
        env.write_auth(&doc.to_string());
        let run = env.run(&["login", "token"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(
            refresh_grants(&fake),
            expected_grants,
            "last refresh {age_days} days ago"
        );
        if expected_grants == 0 {
            assert_eq!(run.stdout, "opaque-access-token-without-exp\n");
        }
    }
}

#[test]
fn fields_missing_from_a_refresh_answer_keep_their_old_values() {
    let env = Env::new();
    let fake = issuer_knowing_rt1(&env, &["refresh-access-only"]);
    let before: Value = serde_json::from_str(&fake_chatgpt_doc(&fake.url, "rt-1")).unwrap();
    env.write_auth(&before.to_string());
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    let after = stored(&env);
    assert_ne!(
        after["tokens"]["access_token"],
        before["tokens"]["access_token"]
    );
    assert_eq!(after["tokens"]["refresh_token"], "rt-1");
    assert_eq!(after["tokens"]["id_token"], before["tokens"]["id_token"]);
}

#[test]
fn a_silent_revocation_endpoint_delays_logout_by_at_most_its_bound() {
    let env = Env::new();
    let fake = Peer::fake_issuer(env.dir.path(), &["--scenario", "revoke-hang"]);
    env.write_auth(&fake_chatgpt_doc(&fake.url, "rt-1"));
    let run = Background::spawn(env.cmd(&["logout"])).finish(60);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "warning: could not revoke the sign-in at the issuer (no answer within 10 s); the local credentials are removed anyway\nSuccessfully logged out\n"
    );
    assert!(!env.auth_path().exists());
}

#[test]
fn ctrl_c_during_a_refresh_waits_until_the_rotated_token_is_saved() {
    // Issue 19: once the refresh request is out, the issuer may have spent `rt-1`; a Ctrl-C then
    // must not end the process before the new refresh token is saved.
    for args in [&["login", "token"][..], &["exec", "hello"]] {
        let env = Env::new();
        let issuer = Peer::slow_refresh_issuer(env.dir.path(), "rt-1", 3000);
        env.write_auth(&fake_chatgpt_doc(&issuer.url, "rt-1"));
        let running = Background::spawn(env.cmd(args));
        for _ in 0..600 {
            if refresh_grants(&issuer) == 1 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(refresh_grants(&issuer), 1, "{args:?}: no refresh was sent");
        common::interrupt(running.pid());
        let run = running.finish(60);
        let refresh = stored(&env)["tokens"]["refresh_token"].clone();
        assert!(
            refresh.as_str().is_some_and(|t| t.starts_with("rt_")),
            "{args:?}: the rotated refresh token was lost (auth.json holds {refresh}): {run:?}"
        );
        // Ctrl-C still ends the command, once the save is done: nothing printed, the signal
        // as its end.
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (-1, ""),
            "{args:?}: {run:?}"
        );
    }
}

/// Replaces the stored access token by a JWT with these claims; returns it.
fn store_access_token(env: &Env, claims: Value) -> String {
    let mut doc = stored(env);
    let token = jwt(claims);
    doc["tokens"]["access_token"] = Value::String(token.clone());
    env.write_auth(&serde_json::to_string_pretty(&doc).unwrap());
    token
}

/// RFC 7519's NumericDate may carry a fraction: such an `exp` is the expiry, not "no expiry"
/// (which would fall back to 8 days after `last_refresh`, and hand out a dead token).
#[test]
fn a_fractional_exp_is_read_as_the_expiry() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[]);
    sign_in_with_oidc(&env, &oidc);
    let exp = (now_secs() - 3600) as f64 + 0.5;
    let expired = store_access_token(&env, json!({"exp": exp, "sub": "alice"}));

    let status = env.run(&["login", "status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status.stderr.contains("  Access token expires: ") && status.stderr.contains(" min ago)\n"),
        "{status:?}"
    );
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_ne!(run.stdout.trim(), expired);
    assert_eq!(refresh_grants(&oidc), 1);
    assert_eq!(
        run.stdout.trim(),
        stored(&env)["tokens"]["access_token"].as_str().unwrap()
    );
}

/// A token that lives a few seconds: half its lifetime would leave it in use until its last
/// second (and an integer half of one second is nothing at all). The window has a floor of a few
/// seconds, so `login token` refreshes rather than print a token that is dead on arrival.
#[test]
fn a_token_about_to_expire_is_refreshed_before_it_is_handed_out() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[]);
    sign_in_with_oidc(&env, &oidc);
    let now = now_secs();
    let short = store_access_token(
        &env,
        json!({"iat": now - 1, "exp": now + 4, "sub": "alice"}),
    );
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_ne!(run.stdout.trim(), short);
    assert_eq!(refresh_grants(&oidc), 1);

    // At its `exp` a token is expired (RFC 7519), to the millisecond: never printed.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    let dead = store_access_token(
        &env,
        json!({"iat": now_ms / 1000.0 - 1.0, "exp": now_ms / 1000.0, "sub": "alice"}),
    );
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_ne!(run.stdout.trim(), dead);
    assert_eq!(refresh_grants(&oidc), 2);
}
