//! Traces over OTLP/HTTP, off unless a collector is configured (`otlp_endpoint`, or the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). The spans
//! are those of `tracing` (one `request` span per HTTP request, see `web::middleware`), turned
//! into OpenTelemetry spans by `tracing-opentelemetry` and exported in batches by the SDK's
//! own thread. The standard `OTEL_EXPORTER_OTLP_*` variables (protocol, headers, timeout)
//! apply; the protocol is `http/protobuf` unless `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported, so that requests make spans only then.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The running exporter. Dropping it exports what is still queued (on shutdown).
pub struct Tracing {
    provider: SdkTracerProvider,
}

impl Tracing {
    /// The exporter for `endpoint` (a collector's base URL; `/v1/traces` is appended), or,
    /// without one, for the standard OTLP endpoint variables; None when nothing is set.
    pub fn start(endpoint: Option<&str>) -> Result<Option<Self>, String> {
        let from_environment = [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        let mut exporter = SpanExporter::builder()
            .with_http()
            .with_http_client(BlockingHttp::default());
        match endpoint {
            Some(base) => {
                exporter =
                    exporter.with_endpoint(format!("{}/v1/traces", base.trim_end_matches('/')));
            }
            None if from_environment => {}
            None => return Ok(None),
        }
        let exporter = exporter
            .with_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("OpenTelemetry exporter: {e}"))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name("tessera").build())
            .build();
        EXPORTING.store(true, Ordering::Relaxed);
        Ok(Some(Self { provider }))
    }

    /// The `tracing` layer that hands spans to the exporter.
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("tessera"))
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("tessera: OpenTelemetry: {e}");
        }
    }
}

/// The exporter's HTTP client: our reqwest, blocking. The SDK exports from a thread of its
/// own, outside any async runtime, which is where a blocking client belongs; it is created
/// there, on the first export, and lives on that thread.
#[derive(Debug, Default)]
struct BlockingHttp {
    client: OnceLock<reqwest::blocking::Client>,
}

impl BlockingHttp {
    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = match self.client.get() {
            Some(c) => c,
            None => {
                let built = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()?;
                self.client.get_or_init(|| built)
            }
        };
        let (parts, body) = request.into_parts();
        let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes())?;
        let mut outgoing = client
            .request(method, parts.uri.to_string())
            .body(body.to_vec());
        for (name, value) in &parts.headers {
            outgoing = outgoing.header(name.as_str(), value.as_bytes());
        }
        let answer = outgoing.send()?;
        let status = answer.status().as_u16();
        let body = answer.bytes()?;
        Ok(Response::builder().status(status).body(body)?)
    }
}

impl HttpClient for BlockingHttp {
    fn send_bytes<'a, 'b>(
        &'a self,
        request: Request<Bytes>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move { self.send(request) })
    }
}
