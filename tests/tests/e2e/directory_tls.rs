//! TLS and mutual TLS on the gateway / scimctl → directory hop (issue #18). Certificates
//! come from a throwaway CA made with the `openssl` CLI (as the gateway's own TLS test does).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e_tests::{Process, bin};
use serde_json::Value;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::production::{get, http_client};

fn openssl(args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(output.status.success(), "openssl {args:?}: {output:?}");
}

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_owned()
    }

    /// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it.
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!("e2e-mtls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let pki = Pki { dir };
        let p = |name: &str| pki.path(name);
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=e2e test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.crt"),
        ]);
        for (name, extensions) in [
            (
                "server",
                "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
            ),
            ("client", "extendedKeyUsage=clientAuth\n"),
        ] {
            let ext = p(&format!("{name}.ext"));
            std::fs::write(&ext, extensions).unwrap();
            openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &p(&format!("{name}.key")),
                "-out",
                &p(&format!("{name}.csr")),
            ]);
            openssl(&[
                "x509",
                "-req",
                "-in",
                &p(&format!("{name}.csr")),
                "-CA",
                &p("ca.crt"),
                "-CAkey",
                &p("ca.key"),
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                &ext,
                "-out",
                &p(&format!("{name}.crt")),
            ]);
        }
        pki
    }
}

fn scimctl(
    url: &str,
    credential: &str,
    pki: &Pki,
    client_cert: bool,
    args: &[&str],
) -> std::process::Output {
    let mut command = Command::new(bin("scimctl"));
    command
        .args(["--output", "json"])
        .args(args)
        .env("DIRECTORY_URL", url)
        .env("DIRECTORY_CREDENTIAL", credential)
        .env("DIRECTORY_TLS_CA_FILE", pki.path("ca.crt"));
    if client_cert {
        command
            .env("DIRECTORY_TLS_CLIENT_CERT_FILE", pki.path("client.crt"))
            .env("DIRECTORY_TLS_CLIENT_KEY_FILE", pki.path("client.key"));
    }
    command.output().unwrap()
}

async fn health(url: &str, ca: &Path, identity: Option<(&Path, &Path)>) -> Result<i32, String> {
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
    let mut tls =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap()));
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(cert).unwrap(),
            std::fs::read(key).unwrap(),
        ));
    }
    let channel = Endpoint::from_shared(url.to_owned())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(3))
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|answer| answer.into_inner().status)
        .map_err(|status| format!("{status:?}"))
}

#[tokio::test]
async fn the_gateway_and_scimctl_reach_the_directory_over_mutual_tls() {
    let pki = Pki::new();
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let credential = format!("test-credential-{}", uuid::Uuid::new_v4().simple());
    let mut cmd = Command::new(bin("directory-service"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &database,
    ])
    .env("DIRECTORY_CREDENTIAL", &credential)
    .env("DIRECTORY_TLS_CERT_FILE", pki.path("server.crt"))
    .env("DIRECTORY_TLS_KEY_FILE", pki.path("server.key"))
    .env("DIRECTORY_TLS_CLIENT_CA_FILE", pki.path("ca.crt"))
    .env("RUST_LOG", "warn");
    let directory = Process::spawn(cmd).unwrap();
    let url = format!("https://{}", directory.addr);

    // scimctl with its client certificate sets up a workspace and a token.
    let created = scimctl(
        &url,
        &credential,
        &pki,
        true,
        &["workspace", "create", "acme"],
    );
    assert!(created.status.success(), "{created:?}");
    let issued = scimctl(
        &url,
        &credential,
        &pki,
        true,
        &["token", "issue", "--workspace", "acme", "--name", "idp"],
    );
    assert!(issued.status.success(), "{issued:?}");
    let token = serde_json::from_slice::<Value>(&issued.stdout).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The gateway with the CA and its client certificate serves SCIM.
    let mut cmd = Command::new(bin("scim-gateway"));
    cmd.args(["--listen", "127.0.0.1:0", "--directory-url", &url])
        .env("DIRECTORY_CREDENTIAL", &credential)
        .env("DIRECTORY_TLS_CA_FILE", pki.path("ca.crt"))
        .env("DIRECTORY_TLS_CLIENT_CERT_FILE", pki.path("client.crt"))
        .env("DIRECTORY_TLS_CLIENT_KEY_FILE", pki.path("client.key"))
        .env("GATEWAY_AUTH_FAILURES_PER_MINUTE", "0")
        .env("RUST_LOG", "warn");
    let gateway = Process::spawn(cmd).unwrap();
    let client = http_client();
    let (status, _, body) = get(
        &client,
        &format!("http://{}/scim/v2/Users", gateway.addr),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}\n{}", gateway.stderr());
    let (status, _, body) = get(&client, &format!("http://{}/readyz", gateway.addr), None).await;
    assert_eq!(status, 200, "{body}");

    // With its certificate a client gets answers; without one it is refused at the
    // handshake (mutual TLS is required), and so is a plaintext client.
    let ca = pki.dir.join("ca.crt");
    let (cert, key) = (pki.dir.join("client.crt"), pki.dir.join("client.key"));
    assert_eq!(
        health(&url, &ca, Some((&cert, &key))).await,
        Ok(1),
        "SERVING with a certificate"
    );
    let refused = health(&url, &ca, None).await;
    assert!(
        refused.is_err(),
        "a client without a certificate was answered: {refused:?}"
    );
    let plaintext = Command::new(bin("scimctl"))
        .args(["workspace", "list"])
        .env("DIRECTORY_URL", format!("http://{}", directory.addr))
        .env("DIRECTORY_CREDENTIAL", &credential)
        .output()
        .unwrap();
    assert!(!plaintext.status.success(), "{plaintext:?}");
    let no_cert = scimctl(&url, &credential, &pki, false, &["workspace", "list"]);
    assert!(!no_cert.status.success(), "{no_cert:?}");
    let _ = std::fs::remove_dir_all(&pki.dir);
}
