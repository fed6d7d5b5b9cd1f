//! The README's first command: `scimctl up` starts the whole system on SQLite, prints the
//! base URL and a token that work, and Ctrl-C stops everything.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

#[tokio::test]
async fn scimctl_up_prints_a_working_base_url_and_token_and_stops_on_ctrl_c() {
    let data_dir =
        std::env::temp_dir().join(format!("scimctl-up-{}", uuid::Uuid::new_v4().simple()));
    let mut child = Command::new(e2e_tests::bin("scimctl"))
        .args([
            "--output",
            "json",
            "up",
            "--directory-listen",
            "127.0.0.1:0",
            "--gateway-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .env_remove("DIRECTORY_CREDENTIAL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut collected = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            collected.push_str(&line);
            collected.push('\n');
            if let Ok(info) = serde_json::from_str::<Value>(&collected) {
                let _ = tx.send(info);
                collected.clear();
            }
        }
    });
    let info = rx
        .recv_timeout(Duration::from_secs(90))
        .expect("scimctl up printed its JSON summary");
    let base_url = info["scim_base_url"].as_str().unwrap().to_owned();
    let token = info["bearer_token"].as_str().unwrap().to_owned();
    assert!(
        base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/scim/v2"),
        "{base_url}"
    );
    assert!(token.starts_with("scim_"));
    assert!(
        data_dir.join("directory.db").exists(),
        "SQLite database in the data dir"
    );

    // The printed URL and token work: create and read back a user.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "first@local.test"}).to_string();
    let request = http::Request::post(format!("{base_url}/Users"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 201);
    let request = http::Request::get(format!(
        "{base_url}/Users?filter=userName%20eq%20%22FIRST%40local.test%22"
    ))
    .header("authorization", format!("Bearer {token}"))
    .body(http_body_util::Full::new(bytes::Bytes::new()))
    .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let list: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(list["totalResults"], 1);

    // Ctrl-C stops both children and scimctl exits.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "scimctl up did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "clean exit on Ctrl-C: {exit:?}");
    let gateway_addr = base_url
        .trim_start_matches("http://")
        .trim_end_matches("/scim/v2");
    assert!(
        std::net::TcpStream::connect(gateway_addr).is_err(),
        "gateway stopped"
    );
    let directory_addr = info["directory_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(directory_addr).is_err(),
        "directory stopped"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}
