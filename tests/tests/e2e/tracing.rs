//! One trace from the caller through the gateway and the directory down to the database,
//! exported over OTLP to a collector inside this test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e_tests::Stack;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;

#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<(String, Span)>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .map(|v| format!("{:?}", v.value))
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                spans.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test]
async fn a_request_is_one_trace_across_gateway_directory_and_database() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = listener.local_addr().unwrap();
    let server = collector.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(server))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
    });
    let endpoint = format!("http://{collector_addr}");
    let database_url = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(
        database_url,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await
    .unwrap();

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let auth = format!("Bearer {}", stack.token);
    let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "traced@x.test"}).to_string();
    let created = stack
        .request(
            "POST",
            "/Users",
            Some(body),
            &[("authorization", &auth), ("traceparent", &traceparent)],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);

    let wanted = hex(trace_id);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let (gateway, rpc, db) = loop {
        let spans: Vec<(String, Span)> = collector
            .spans
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| s.trace_id == wanted)
            .cloned()
            .collect();
        let gateway = spans
            .iter()
            .find(|(_, s)| s.name == "POST /scim/v2/Users")
            .map(|(_, s)| s.clone());
        let rpc = spans
            .iter()
            .find(|(_, s)| s.name == "/directory.v1.Users/CreateUser")
            .map(|(_, s)| s.clone());
        let db = spans
            .iter()
            .find(|(service, s)| {
                service.contains("directory-service")
                    && s.attributes
                        .iter()
                        .any(|kv| kv.key == "db.system" || kv.key == "db.system.name")
            })
            .map(|(_, s)| s.clone());
        if let (Some(g), Some(r), Some(d)) = (&gateway, &rpc, &db) {
            break (g.clone(), r.clone(), d.clone());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "missing spans in trace {trace_id}: gateway {} rpc {} db {}; all names: {:?}",
            gateway.is_some(),
            rpc.is_some(),
            db.is_some(),
            spans
                .iter()
                .map(|(svc, s)| format!("{svc}:{}", s.name))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        gateway.parent_span_id,
        hex("00f067aa0ba902b7"),
        "the gateway continues the caller's trace"
    );
    assert_eq!(
        rpc.parent_span_id, gateway.span_id,
        "the directory's RPC span is a child of the gateway's"
    );
    assert_ne!(db.span_id, rpc.span_id);
    for name in ["POST /scim/v2/Users", "/directory.v1.Users/CreateUser"] {
        assert!(!name.contains(&created.body["id"].as_str().unwrap().to_string()));
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
