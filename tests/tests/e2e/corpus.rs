//! The malformed-request corpus (`tests/corpus/malformed.jsonl`, written by
//! `tests/corpus/generate.py`): every case answers its SCIM error (status and scimType),
//! none a 5xx, neither process panics, and the workspace is the same afterwards, on
//! Postgres and on SQLite.

use e2e_tests::{Stack, on_both_backends};
use serde_json::{Map, Value, json};

const CORPUS: &str = include_str!("../../corpus/malformed.jsonl");

/// The ids and texts `{...}` placeholders stand for.
struct Fixture {
    user: String,
    group: String,
}

impl Fixture {
    fn path(&self, path: &str) -> String {
        path.replace("{huge}", &"a".repeat(10 * 1024))
            .replace("{user_simple}", &self.user.replace('-', ""))
            .replace("{group_simple}", &self.group.replace('-', ""))
            .replace("{USER}", &self.user.to_uppercase())
            .replace("{GROUP}", &self.group.to_uppercase())
            .replace("{user}", &self.user)
            .replace("{group}", &self.group)
    }

    /// Expands `$repeat` / `$list` and replaces `{user}`, `{group}` (and `{i}` inside a
    /// `$list` item) in strings.
    fn body(&self, value: &Value, index: Option<usize>) -> Value {
        match value {
            Value::String(s) => {
                let s = s
                    .replace("{user}", &self.user)
                    .replace("{group}", &self.group);
                Value::String(match index {
                    Some(i) => s.replace("{i}", &i.to_string()),
                    None => s,
                })
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.body(v, index)).collect())
            }
            Value::Object(map) => {
                let times = map.get("times").and_then(Value::as_u64).unwrap_or(0) as usize;
                if let Some(Value::String(text)) = map.get("$repeat") {
                    return Value::String(text.repeat(times));
                }
                if let Some(item) = map.get("$list") {
                    return Value::Array((0..times).map(|i| self.body(item, Some(i))).collect());
                }
                Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), self.body(v, index)))
                        .collect::<Map<String, Value>>(),
                )
            }
            other => other.clone(),
        }
    }
}

async fn dump(stack: &Stack) -> Value {
    let users = stack.scim("GET", "/Users?count=1000", None).await;
    let groups = stack.scim("GET", "/Groups?count=1000", None).await;
    assert_eq!(users.status, 200, "{}", users.raw);
    assert_eq!(groups.status, 200, "{}", groups.raw);
    json!({"users": users.body["Resources"], "groups": groups.body["Resources"]})
}

async fn malformed_corpus(stack: Stack) {
    let cases: Vec<Value> = CORPUS
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("a corpus line is JSON"))
        .collect();
    assert!(cases.len() >= 300, "the corpus holds {} cases", cases.len());

    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "userName": "corpus@x.test",
                "name": {"givenName": "Corpus", "familyName": "Case"},
                "displayName": "Corpus Case",
                "emails": [{"value": "corpus@x.test", "type": "work", "primary": true}],
                "addresses": [{"type": "work", "locality": "Springfield"}],
                "roles": [{"value": "reader", "primary": true}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "QA"}
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let user = created.body["id"].as_str().unwrap().to_owned();
    let group = stack.create_group("corpus", &[&user]).await;
    let fixture = Fixture { user, group };
    let auth = format!("Bearer {}", stack.token);

    let before = dump(&stack).await;
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let method = case["method"].as_str().unwrap();
        let path = fixture.path(case["path"].as_str().unwrap());
        let body = match (case.get("raw"), case.get("body")) {
            (Some(Value::String(raw)), _) => Some(raw.clone()),
            (_, Some(body)) => Some(fixture.body(body, None).to_string()),
            _ => None,
        };
        let mut headers: Vec<(String, String)> = vec![("authorization".into(), auth.clone())];
        let content_type = match case.get("headers").and_then(|h| h.get("content-type")) {
            Some(Value::String(ct)) => Some(ct.clone()),
            Some(_) => None,
            None => body.as_ref().map(|_| "application/scim+json".to_owned()),
        };
        if let Some(ct) = content_type {
            headers.push(("content-type".into(), ct));
        }
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let answer = stack.request_as_given(method, &path, body, &headers).await;
        let status = case["status"].as_u64().unwrap() as u16;
        let scim_type = case["scimType"].as_str();
        let got_type = answer.body.get("scimType").and_then(Value::as_str);
        let is_error =
            answer.body["schemas"] == json!(["urn:ietf:params:scim:api:messages:2.0:Error"]);
        if answer.status != status || got_type != scim_type || !is_error {
            failures.push(format!(
                "{name}: want {status} {scim_type:?}, got {} {got_type:?}: {}",
                answer.status,
                answer.raw.chars().take(300).collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(dump(&stack).await, before, "the corpus changed nothing");
    for (process, stderr) in [
        ("gateway", stack.gateway.stderr()),
        ("directory", stack.directory.stderr()),
    ] {
        assert!(
            !stderr.contains("panicked"),
            "the {process} panicked:\n{stderr}"
        );
    }
}

on_both_backends!(malformed_corpus);
