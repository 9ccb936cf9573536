//! The OpenAI-compatible embedder against a loopback server speaking the real wire format
//! (`POST /v1/embeddings`), including a 429 and a 503 it must retry, and a 400 it must not.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support_agent::config::Secret;
use support_agent::knowledge::embed::{EmbedError, Embedder, OpenAiEmbedder, OpenAiOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server saw: path, Authorization header, JSON body.
type Seen = Arc<Mutex<Vec<(String, String, Value)>>>;

/// Serves `statuses` in turn (then 200s): a 200 answers each input with a vector whose first
/// component is the input's length, in reverse order of `index` to check reordering.
async fn server(statuses: Vec<u16>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        while let Ok((mut sock, _)) = listener.accept().await {
            let Some((path, auth, body)) = read_request(&mut sock).await else {
                continue;
            };
            log.lock().expect("lock").push((path, auth, body.clone()));
            let status = statuses.next().unwrap_or(200);
            let reply = if status == 200 {
                let inputs = body["input"].as_array().cloned().unwrap_or_default();
                let mut data: Vec<Value> = inputs
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        let mut v = vec![0.0; 384];
                        v[0] = t.as_str().map_or(0, str::len) as f64;
                        v[1] = 1.0;
                        json!({"object": "embedding", "index": i, "embedding": v})
                    })
                    .collect();
                data.reverse();
                json!({"object": "list", "model": body["model"], "data": data,
                       "usage": {"prompt_tokens": 1, "total_tokens": 1}})
            } else {
                json!({"error": {"message": "slow down", "type": "rate_limit_error",
                                 "param": null, "code": null}})
            };
            let text = reply.to_string();
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n",
                text.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(text.as_bytes()).await;
        }
    });
    (format!("http://{addr}/v1"), seen)
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<(String, String, Value)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.trim().to_owned())
    };
    let len: usize = header("content-length")?.parse().ok()?;
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let path = head.split_whitespace().nth(1)?.to_owned();
    let body = serde_json::from_slice(&buf[head_end..head_end + len]).ok()?;
    Some((path, header("authorization").unwrap_or_default(), body))
}

fn embedder(base_url: String, batch: usize) -> OpenAiEmbedder {
    OpenAiEmbedder::new(OpenAiOptions {
        base_url,
        api_key: Some(Secret::new("sk-test-key")),
        model: "text-embedding-3-small".into(),
        dims: 384,
        batch,
        timeout: Duration::from_secs(5),
        attempts: 4,
        backoff: Duration::from_millis(10),
        max_tokens: 512,
    })
}

#[tokio::test]
async fn batches_are_sent_in_the_openai_format_and_rate_limits_are_retried() {
    let (url, seen) = server(vec![429, 503]).await;
    let e = embedder(url, 2);
    let texts: Vec<String> = ["a", "bb", "ccc", "dddd", "eeeee"]
        .map(String::from)
        .to_vec();
    let vectors = e.embed(&texts).await.expect("embed after two retries");
    assert_eq!(vectors.len(), 5);
    for (text, v) in texts.iter().zip(&vectors) {
        // Back in input order despite the reversed answer, and normalised to unit length.
        let expected = text.len() as f32 / ((text.len() * text.len() + 1) as f32).sqrt();
        assert!((v[0] - expected).abs() < 1e-5, "{text}: {}", v[0]);
    }
    let seen = seen.lock().expect("lock");
    // Three batches (2 + 2 + 1), the first sent three times.
    assert_eq!(seen.len(), 5, "{seen:?}");
    for (path, auth, body) in seen.iter() {
        assert_eq!(path, "/v1/embeddings");
        assert_eq!(auth, "Bearer sk-test-key");
        assert_eq!(body["model"], "text-embedding-3-small");
        assert_eq!(body["dimensions"], 384);
    }
    assert_eq!(seen[0].2["input"], json!(["a", "bb"]));
    assert_eq!(seen[4].2["input"], json!(["eeeee"]));
}

#[tokio::test]
async fn a_refused_request_is_not_retried_and_the_key_never_shows() {
    let (url, seen) = server(vec![400]).await;
    let e = embedder(url, 8);
    let err = e.embed(&["x".to_owned()]).await.expect_err("400 fails");
    assert!(matches!(err, EmbedError::Refused(_)), "{err:?}");
    assert_eq!(seen.lock().expect("lock").len(), 1);
    assert!(!format!("{err} {err:?} {e:?}").contains("sk-test-key"));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable_after_the_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    drop(listener);
    let err = embedder(url, 8)
        .embed(&["x".to_owned()])
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, EmbedError::Unavailable(_)), "{err:?}");
}
