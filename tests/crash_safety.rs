//! A writer killed with SIGKILL at any moment leaves auth.json either old or new, never torn,
//! and the next writer removes any temp file (which may hold a key) the dead one left behind.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Env, saved};

/// Keys of 2 MiB make the write itself most of a save's life, so kills land inside it.
fn big_key(tag: &str) -> String {
    format!("sk-{tag}-{}", "k".repeat(2 << 20))
}

fn doc(key: &str) -> String {
    format!("{{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"{key}\"\n}}")
}

#[test]
fn sigkill_during_writes_never_tears_auth_json() {
    let env = Env::new();
    let mut current = doc("sk-initial-000000000000");
    env.write_auth(&current);
    // How long one save takes here (debug build, busy machine...): kills are spread over 1.5x it.
    // Distinct keys, as in the rounds: each sign-in also keeps the previous key as an account.
    let mut samples: Vec<Duration> = (0..5)
        .map(|n| {
            let start = Instant::now();
            env.run_stdin(
                &["login", "--api-key", "-"],
                big_key(&format!("timing-{n}")).as_bytes(),
            );
            start.elapsed()
        })
        .collect();
    samples.sort();
    let typical = samples[2];
    current = env.read_auth();
    let (mut killed_running, mut finished) = (0, 0);
    for i in 0..200u32 {
        let key = big_key(&format!("round-{i:04}"));
        let mut child = env
            .cmd(&["login", "--api-key", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(key.as_bytes())
            .unwrap();
        // Spread the kill over the process's whole life; every 40th writer is left to finish, so
        // the test does not depend on the calibration when the machine is busier than it was.
        // Sleep, not spin: a spinning test takes one of the cores the writer needs.
        if i % 40 == 39 {
            child.wait().unwrap();
        } else {
            std::thread::sleep(typical.mul_f64(1.5 * f64::from(i % 40) / 40.0));
        }
        match child.try_wait().unwrap() {
            Some(_) => finished += 1,
            None => {
                child.kill().unwrap();
                killed_running += 1;
            }
        }
        child.wait().unwrap();
        let now = env.read_auth();
        let new = doc(&key);
        assert!(
            now == current || now == new,
            "round {i}: auth.json is neither the old nor the new content ({} bytes)",
            now.len()
        );
        current = now;
    }
    assert!(
        killed_running > 20,
        "only {killed_running} kills hit a running writer"
    );
    assert!(finished > 0, "no writer ever finished");

    let last = env.run_stdin(&["login", "--api-key", "-"], b"sk-final-key-000000000");
    // (A killed round may have left its key active but not yet saved as an account: the final
    // sign-in then says it kept it, before this line.)
    assert!(
        last.code == 0 && last.stderr.ends_with(&saved("apikey-00000-2")),
        "{last:?}"
    );
    // Saved accounts are written the same way, in their own folder.
    let leftovers: Vec<_> = std::fs::read_dir(&env.home)
        .unwrap()
        .chain(std::fs::read_dir(env.home.join("accounts")).unwrap())
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
}
