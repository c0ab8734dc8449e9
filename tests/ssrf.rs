//! Server-side request forgery, for requests from untrusted input (`frames --jsonl` fed by
//! users): a URL or a redirect must not reach internal addresses or local files under the
//! options meant for that (`--no-private-addresses`, `--no-local-files`), and a refusal must
//! not tell whether a local file exists. Every server is started by the test on 127.0.0.1;
//! framekit runs as a capped child.

mod common;

use std::path::Path;

use common::capped::{Input, run};
use common::http::{Internal, Redirector, Serve, Server};

fn rows(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect()
}

fn request(path: &str) -> String {
    format!("{{\"path\": {path:?}, \"ids\": \"1\"}}\n")
}

/// The part of an error row after its path, which must not differ between an existing and
/// a missing local file.
fn reason(row: &serde_json::Value, path: &str) -> String {
    row["error"]
        .as_str()
        .unwrap_or_default()
        .replace(path, "PATH")
}

#[test]
fn internal_addresses_are_refused_directly_and_behind_a_redirect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let internal = Internal::start();
    let target = format!("http://127.0.0.1:{}/admin", internal.port());
    let redirect_to = target.clone();
    let redirector = Redirector::start(move |_| redirect_to.clone());
    let allowed = format!("127.0.0.1:{}", redirector.port());
    let input: String = [
        // Straight at the internal service, by address and by name.
        request(&target),
        request(&format!("http://localhost:{}/admin", internal.port())),
        // Through a host that is allowed, redirecting to the internal service.
        request(&redirector.url("/video.mp4")),
    ]
    .concat();
    let result = run(
        dir.path(),
        &[
            "frames",
            "--jsonl",
            "--no-local-files",
            "--no-private-addresses",
            "--allow-host",
            &allowed,
        ],
        Input::Bytes(input.into_bytes()),
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let rows = rows(&result.stdout);
    assert_eq!(rows.len(), 3);
    for row in &rows[..2] {
        let error = row["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("an internal address") && error.contains("127.0.0.1"),
            "{row}"
        );
    }
    let error = rows[2]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("redirect") && error.contains("not followed"),
        "{error}"
    );
    assert_eq!(redirector.requests(), 1, "the allowed host was asked once");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        internal.connections(),
        0,
        "nothing reached the internal port"
    );
}

#[test]
fn without_the_option_a_redirect_is_followed_which_is_why_it_exists() {
    // The contrast that shows the option matters: by default FFmpeg follows the redirect
    // to the internal port.
    let dir = tempfile::tempdir().expect("tempdir");
    let internal = Internal::start();
    let target = format!("http://127.0.0.1:{}/admin", internal.port());
    let redirector = Redirector::start(move |_| target.clone());
    let result = run(
        dir.path(),
        &["probe", &redirector.url("/video.mp4"), "--timeout", "2"],
        Input::None,
    );
    assert_eq!(result.code, Some(1), "{}", result.stderr);
    assert!(internal.connections() >= 1);
}

#[test]
fn a_redirect_to_a_local_file_reads_nothing_and_tells_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("secret.mp4");
    std::fs::copy(common::tiny_clip(), &secret).expect("copy");
    let existing = format!("file://{}", secret.display());
    let missing = format!("file://{}", dir.path().join("missing.mp4").display());
    let (to_existing, to_missing) = (existing.clone(), missing.clone());
    let redirector = Redirector::start(move |path| {
        if path.contains("existing") {
            to_existing.clone()
        } else {
            to_missing.clone()
        }
    });
    for flags in [&["--no-local-files"][..], &[][..]] {
        let mut args = vec!["frames", "--jsonl"];
        args.extend_from_slice(flags);
        let input = [
            request(&redirector.url("/existing.mp4")),
            request(&redirector.url("/missing.mp4")),
        ]
        .concat();
        let result = run(dir.path(), &args, Input::Bytes(input.into_bytes()));
        assert_eq!(result.code, Some(0), "{}", result.stderr);
        let rows = rows(&result.stdout);
        for row in &rows {
            let error = row["error"].as_str().unwrap_or_default();
            assert!(error.contains("never followed"), "{flags:?}: {row}");
            assert_eq!(row["frames"], "");
        }
        assert_eq!(
            reason(&rows[0], &redirector.url("/existing.mp4")),
            reason(&rows[1], &redirector.url("/missing.mp4")),
            "{flags:?}"
        );
    }
}

#[test]
fn under_no_local_files_an_existing_and_a_missing_file_are_refused_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("secret.mp4");
    std::fs::copy(common::tiny_clip(), &secret).expect("copy");
    let missing = dir.path().join("missing.mp4");
    // A name that looks like a URL and exists on disk (`http:/127.0.0.1:9/x.mp4` as a
    // relative path), and the same URL form for a file that does not exist.
    let server = Server::start(dir.path().to_path_buf(), Serve::Ranges);
    let url_named = dir.path().join("http:/127.0.0.1:9");
    std::fs::create_dir_all(&url_named).expect("mkdir");
    std::fs::copy(common::tiny_clip(), url_named.join("x.mp4")).expect("copy");
    let show = |p: &Path| p.to_string_lossy().into_owned();
    let pairs = [
        (show(&secret), show(&missing)),
        (
            format!("file://{}", secret.display()),
            format!("file://{}", missing.display()),
        ),
        (
            "http://127.0.0.1:9/x.mp4".to_string(),
            "http://127.0.0.1:9/y.mp4".to_string(),
        ),
    ];
    for (there, not_there) in &pairs {
        let input = [request(there), request(not_there)].concat();
        let result = run(
            dir.path(),
            &["frames", "--jsonl", "--no-local-files"],
            Input::Bytes(input.into_bytes()),
        );
        assert_eq!(result.code, Some(0), "{}", result.stderr);
        let rows = rows(&result.stdout);
        let normalise = |row: &serde_json::Value| {
            reason(row, there)
                .replace(not_there.as_str(), "PATH")
                .replace(&show(&secret), "PATH")
                .replace(&show(&missing), "PATH")
                .replace("x.mp4", "NAME")
                .replace("y.mp4", "NAME")
        };
        assert!(rows[0]["error"].is_string(), "{there}: {}", rows[0]);
        assert_eq!(normalise(&rows[0]), normalise(&rows[1]), "{there}");
    }
    drop(server);
}
