//! What the end-to-end tests serve beside the built app: checkpoints in the official forms
//! (seeded InternImage-T as the Hub publishes it, and tools/make_checkpoints.py's .pth files),
//! the top-5 the CLI's path gives for T on a photo, and a second server on another origin whose
//! downloads break off or refuse cross-origin requests.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use gpu::model::weights::{SeededWeights, WeightSource};
use gpu::model::{InternImage, ModelConfig, SafetensorsWeights};

use crate::workspace_root;

/// Under the served site: `dist/e2e-checkpoints/`.
pub const SERVED: &str = "e2e-checkpoints";
/// The photo whose top-5 the page must match.
pub const PHOTO: &str = "public/samples/chelsea-the-cat.jpg";

/// Writes the checkpoints into `dist/e2e-checkpoints/` and what the page must reproduce into
/// `expected` (JSON).
pub fn prepare(dist: &Path, expected: &Path) -> Result<(), String> {
    let root = workspace_root();
    let folder = dist.join(SERVED);
    let fail = |e: std::io::Error| format!("{}: {e}", folder.display());
    std::fs::create_dir_all(folder.join("t-hub")).map_err(fail)?;
    let hub = hub_safetensors(&ModelConfig::internimage_t(), 1)?;
    std::fs::write(folder.join("t-hub/model.safetensors"), &hub).map_err(fail)?;
    std::fs::write(
        folder.join("t-hub/config.json"),
        r#"{"core_op": "DCNv3", "offset_scale": 1.0, "channels": 64}"#,
    )
    .map_err(fail)?;
    let fixtures = root.join("tests/fixtures/checkpoints");
    for name in [
        "wrapped.pth",
        "resnet.pth",
        "not_a_checkpoint.zip",
        "hub.safetensors",
    ] {
        std::fs::copy(fixtures.join(name), folder.join(name)).map_err(fail)?;
    }
    std::fs::write(
        folder.join("layer-scale.safetensors"),
        with_layer_scale(&fixtures)?,
    )
    .map_err(fail)?;
    let wrapped = std::fs::read(fixtures.join("wrapped.pth")).map_err(fail)?;
    std::fs::write(folder.join("truncated.pth"), &wrapped[..wrapped.len() / 2]).map_err(fail)?;

    // What `internimage convert model.safetensors --dtype int8 --description …` and
    // `internimage classify` give.
    // As the page's offer asks: int8, described by the catalog.
    let options = convert::Options {
        description: Some(catalog::internimage_t_offer().description("model.safetensors")),
        ..convert::Options::int8("model.safetensors")
    };
    let converted = convert::convert(&hub, &options, &mut |_, _| {}).map_err(|e| e.to_string())?;
    let top5 = classify(&converted.bytes, &root.join(PHOTO))?;
    let json = serde_json::json!({
        "photo": PHOTO,
        "converted_sha256": sha256_hex(&converted.bytes),
        "converted_bytes": converted.bytes.len(),
        "top5": top5,
    });
    std::fs::write(expected, json.to_string()).map_err(|e| format!("{}: {e}", expected.display()))
}

/// Seeded weights as the Hub stores the official ones: f32, every name under `model.`.
fn hub_safetensors(config: &ModelConfig, seed: u64) -> Result<Vec<u8>, String> {
    let seeded = SeededWeights::new(config, seed);
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = config
        .expected_tensors()
        .into_iter()
        .map(|(name, shape)| {
            let values = seeded.tensor(&name, &shape).map_err(|e| e.to_string())?;
            Ok((format!("model.{name}"), shape, values))
        })
        .collect::<Result<_, String>>()?;
    let views = tensors.iter().map(|(name, shape, values)| {
        let view = safetensors::tensor::TensorView::new(
            safetensors::Dtype::F32,
            shape.clone(),
            bytemuck::cast_slice(values),
        )
        .expect("consistent");
        (name.clone(), view)
    });
    let metadata = std::collections::HashMap::from([("format".to_owned(), "pt".to_owned())]);
    safetensors::serialize(views, Some(metadata)).map_err(|e| e.to_string())
}

/// The Hub's micro checkpoint with a layer scale, as InternImage-B and larger have: a feature
/// the engine lacks.
fn with_layer_scale(fixtures: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(fixtures.join("hub.safetensors")).map_err(|e| e.to_string())?;
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| e.to_string())?;
    let gamma = vec![1.0f32; 16];
    let mut views: Vec<(String, safetensors::tensor::TensorView<'_>)> = file.tensors();
    views.push((
        "model.levels.0.blocks.0.gamma1".into(),
        safetensors::tensor::TensorView::new(
            safetensors::Dtype::F32,
            vec![16],
            bytemuck::cast_slice(&gamma),
        )
        .expect("consistent"),
    ));
    safetensors::serialize(views, None).map_err(|e| e.to_string())
}

/// The top-5 labels of `photo`, natively, as `internimage classify` computes them.
fn classify(weights: &[u8], photo: &Path) -> Result<Vec<String>, String> {
    use gpu::model::predictions::top_k;
    use gpu::model::preprocess::{decode, preprocess};
    let weights = SafetensorsWeights::parse(weights).map_err(|e| e.to_string())?;
    let image = std::fs::read(photo).map_err(|e| format!("{}: {e}", photo.display()))?;
    let input = preprocess(&decode(&image).map_err(|e| e.to_string())?, 224);
    pollster::block_on(async {
        let ctx = gpu::GpuContext::new().await.map_err(|e| e.to_string())?;
        let model = InternImage::new(&ctx, &weights.config, &weights, [224, 224])
            .map_err(|e| e.to_string())?;
        let logits = model.run(&ctx, &input).await.map_err(|e| e.to_string())?;
        let labels = weights
            .labels
            .as_ref()
            .ok_or("the converted file has labels")?;
        Ok(top_k(&logits, 5)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(class, _)| labels[class].clone())
            .collect())
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Another origin, as a download host would be: `/cut-short/NAME` sends half of NAME (from
/// `folder`) under the whole one's Content-Length and closes the connection, as a network that
/// fails mid-download; `/huge/NAME` announces 16 GB; `/no-cors/NAME` sends NAME without the
/// header that lets other sites read it. Both on loopback, each request on its own thread.
pub fn start_faulty_host(folder: PathBuf) -> Result<String, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let folder = folder.clone();
            std::thread::spawn(move || answer_faultily(stream, &folder));
        }
    });
    Ok(format!("http://127.0.0.1:{port}"))
}

fn answer_faultily(mut stream: std::net::TcpStream, folder: &Path) {
    let mut request = [0u8; 4096];
    let Ok(read) = stream.read(&mut request) else {
        return;
    };
    let head = String::from_utf8_lossy(&request[..read]);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (fault, name) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("", ""));
    let body = (!name.contains(".."))
        .then(|| std::fs::read(folder.join(name)).ok())
        .flatten();
    let Some(body) = body else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let cors = "Access-Control-Allow-Origin: *\r\n";
    let (cors, length, sent) = match fault {
        "cut-short" => (cors, body.len(), body.len() / 2),
        // Says it is larger than any browser tab could hold, and sends nothing.
        "huge" => (cors, 1 << 34, 0),
        _ => ("", body.len(), body.len()),
    };
    let header = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\n{cors}Connection: close\r\n\r\n"
    );
    let _ = stream.write_all(header.as_bytes());
    let _ = stream.write_all(&body[..sent]);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
