//! The built-in embedder's loading, pooling, truncation and batching, on a tiny BERT generated
//! here (random weights, a 20-word vocabulary), and the real model's ordering when present.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::{BertModel, Config};
use serde_json::json;
use support_agent::knowledge::embed::{EmbedError, Embedder, LocalEmbedder, cosine};

use super::support::real_model_dir;

const WORDS: [&str; 14] = [
    "hello", "world", "refund", "money", "back", "weather", "nice", "today", "how", "do", "i",
    "get", "a", "want",
];

/// Writes config.json, tokenizer.json and model.safetensors of a 1-layer, 8-dimension BERT.
fn tiny_model(dir: &Path) {
    tiny_model_with(dir, "gelu");
}

/// [`tiny_model`] with the intermediate layer's activation `hidden_act`.
fn tiny_model_with(dir: &Path, hidden_act: &str) {
    let config = json!({
        "vocab_size": 4 + WORDS.len(), "hidden_size": 8, "num_hidden_layers": 1,
        "num_attention_heads": 2, "intermediate_size": 16, "hidden_act": hidden_act,
        "hidden_dropout_prob": 0.0, "max_position_embeddings": 40, "type_vocab_size": 2,
        "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        "position_embedding_type": "absolute", "model_type": "bert"
    });
    std::fs::write(dir.join("config.json"), config.to_string()).expect("config");
    let config: Config = serde_json::from_value(config).expect("bert config");
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    BertModel::load(vb, &config).expect("initialise weights");
    varmap
        .save(dir.join("model.safetensors"))
        .expect("save weights");

    let mut vocab = serde_json::Map::new();
    for (i, w) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        .iter()
        .chain(&WORDS)
        .enumerate()
    {
        vocab.insert((*w).to_owned(), json!(i));
    }
    let special = |id: usize, content: &str| {
        json!({"id": id, "content": content, "single_word": false, "lstrip": false,
               "rstrip": false, "normalized": false, "special": true})
    };
    let tokenizer = json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"),
                         special(3, "[SEP]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
                       "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": null,
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).expect("tokenizer");
}

fn load_tiny() -> (tempfile::TempDir, LocalEmbedder) {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_model(dir.path());
    let embedder = LocalEmbedder::load(dir.path()).expect("load the tiny model");
    (dir, embedder)
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
}

#[test]
fn a_generated_model_loads_with_its_own_dimension_and_window() {
    let (_dir, e) = load_tiny();
    assert_eq!(e.dims(), 8);
    // The window is the model's 40 positions, below the 256-token default.
    assert_eq!(e.max_tokens(), 40);
    assert_eq!(e.count_tokens("hello world"), 2);
}

#[test]
fn vectors_are_unit_length_and_padding_does_not_change_them() {
    let (_dir, e) = load_tiny();
    let short = "hello world".to_owned();
    let long = "how do i get a refund i want my money back today".to_owned();
    let alone = e
        .embed_blocking(std::slice::from_ref(&short))
        .expect("embed");
    // In a batch with a longer text, `short` is padded: mean pooling must ignore the padding.
    let batch = e.embed_blocking(&[short, long]).expect("embed");
    assert!(
        close(&alone[0], &batch[0]),
        "{:?} vs {:?}",
        alone[0],
        batch[0]
    );
    for v in &batch {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    assert!(cosine(&batch[0], &batch[1]) < 0.9999);
}

#[test]
fn batches_of_mixed_lengths_come_back_in_input_order() {
    let (_dir, e) = load_tiny();
    let texts: Vec<String> = (0..70)
        .map(|i| {
            WORDS
                .iter()
                .cycle()
                .skip(i % 7)
                .take(1 + i % 13)
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let all = e.embed_blocking(&texts).expect("embed 70 texts in batches");
    assert_eq!(all.len(), 70);
    for i in [0, 1, 31, 32, 33, 69] {
        let one = e
            .embed_blocking(std::slice::from_ref(&texts[i]))
            .expect("embed one");
        assert!(close(&all[i], &one[0]), "text {i} moved");
    }
}

#[test]
fn length_bucketed_batches_give_the_vectors_of_one_text_at_a_time_in_input_order() {
    let (_dir, e) = load_tiny();
    // Lengths from 1 to 60 words (past the 40-token window) in a scrambled order, so that the
    // batches (sorted by token count, cut at 32 texts) mix inputs from all over the list.
    let texts: Vec<String> = (0..90)
        .map(|i| {
            WORDS
                .iter()
                .cycle()
                .skip(i % 5)
                .take(1 + (i * 37) % 60)
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let all = e.embed_blocking(&texts).expect("embed 90 texts");
    assert_eq!(all.len(), texts.len());
    for (i, text) in texts.iter().enumerate() {
        let one = e
            .embed_blocking(std::slice::from_ref(text))
            .expect("embed one");
        let worst = all[i]
            .iter()
            .zip(&one[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "text {i}: differs by {worst}");
    }
}

#[test]
fn texts_longer_than_the_window_are_truncated_not_refused() {
    let (_dir, e) = load_tiny();
    let long = vec!["refund"; 500].join(" ");
    let v = e.embed_blocking(&[long]).expect("a 500-word text embeds");
    assert_eq!(v[0].len(), 8);
}

#[test]
fn mean_pooling_averages_only_unmasked_tokens() {
    let hidden =
        Tensor::new(&[[[3.0f32, 0.0], [0.0, 4.0], [100.0, 100.0]]], &Device::Cpu).expect("tensor");
    let mask = Tensor::new(&[[1u32, 1, 0]], &Device::Cpu).expect("tensor");
    let pooled = support_agent::knowledge::embed::mean_pool_normalized(&hidden, &mask)
        .expect("pool")
        .to_vec2::<f32>()
        .expect("vec");
    // mean of (3,0) and (0,4) is (1.5,2); unit length is (0.6,0.8).
    assert!(close(&pooled[0], &[0.6, 0.8]), "{pooled:?}");
}

#[test]
fn a_missing_model_names_the_script_that_fetches_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = LocalEmbedder::load(&dir.path().join("nope")).expect_err("no model");
    assert!(matches!(err, EmbedError::ModelMissing { .. }));
    assert!(err.to_string().contains("scripts/fetch-model.sh"), "{err}");
}

#[test]
fn the_real_model_puts_a_paraphrase_closer_than_an_unrelated_sentence() {
    let dir = real_model_dir();
    let e = LocalEmbedder::load(&dir).expect("run scripts/fetch-model.sh first");
    assert_eq!((e.model(), e.dims()), ("all-MiniLM-L6-v2", 384));
    let texts = [
        "How do I get a refund?",
        "I want my money back",
        "The weather is nice today",
    ]
    .map(String::from);
    let v = e.embed_blocking(&texts).expect("embed");
    let (para, other) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
    assert!(para > other + 0.2, "paraphrase {para} vs unrelated {other}");
}

/// The vectors of candle-transformers' BERT for each of `texts` alone (no padding, no batching),
/// mean-pooled and normalised as the embedder does, with the model in `dir`.
fn reference_vectors(dir: &Path, texts: &[String], window: usize) -> Vec<Vec<f32>> {
    let config: Config =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).expect("read config.json"))
            .expect("parse config.json");
    let weights = std::fs::read(dir.join("model.safetensors")).expect("read the weights");
    let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
        .expect("safetensors");
    let model = BertModel::load(vb, &config).expect("candle-transformers' BERT");
    let mut tokenizer =
        tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).expect("tokenizer.json");
    tokenizer
        .with_truncation(Some(tokenizers::TruncationParams {
            max_length: window,
            ..Default::default()
        }))
        .expect("truncation");
    tokenizer.with_padding(None);
    texts
        .iter()
        .map(|text| {
            let ids = tokenizer
                .encode(text.as_str(), true)
                .expect("tokenize")
                .get_ids()
                .to_vec();
            let len = ids.len();
            let ids = Tensor::from_vec(ids, (1, len), &Device::Cpu).expect("ids");
            let mask = ids.ones_like().expect("mask");
            let hidden = model
                .forward(&ids, &ids.zeros_like().expect("types"), Some(&mask))
                .expect("reference forward pass");
            support_agent::knowledge::embed::mean_pool_normalized(&hidden, &mask)
                .and_then(|v| v.to_vec2::<f32>())
                .expect("pool")
                .remove(0)
        })
        .collect()
}

/// The largest difference between any two corresponding values.
fn worst_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0f32, f32::max)
}

#[test]
fn the_encoder_gives_the_vectors_of_candles_bert() {
    // The tiny generated model with each activation a BERT config can name: random weights,
    // texts past its 40-token window, batched with padding by the embedder and one at a time by
    // the reference.
    let texts: Vec<String> = (0..40)
        .map(|i| {
            WORDS
                .iter()
                .cycle()
                .skip(i % 3)
                .take(1 + (i * 11) % 50)
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    for act in ["gelu", "geluapproximate", "relu"] {
        let dir = tempfile::tempdir().expect("tempdir");
        tiny_model_with(dir.path(), act);
        let e = LocalEmbedder::load(dir.path()).expect("load the tiny model");
        let ours = e.embed_blocking(&texts).expect("embed");
        let worst = worst_difference(&ours, &reference_vectors(dir.path(), &texts, 40));
        assert!(worst < 1e-5, "tiny model with {act}: differs by {worst}");
    }

    // The real model, on texts from a few words to past its 256-token window.
    let dir = real_model_dir();
    let e = LocalEmbedder::load(&dir).expect("run scripts/fetch-model.sh first");
    let sentence = "I was charged twice for my subscription this month, please refund one of the \
                    payments (invoice in_1Q2w3E, card ending 4242) before Friday.";
    let texts: Vec<String> = [1, 2, 5, 9, 14, 40]
        .iter()
        .map(|&n| vec![sentence; n].join(" "))
        .chain([
            "Hi".to_owned(),
            "Où est ma commande ? 注文はどこですか".to_owned(),
        ])
        .collect();
    let ours = e.embed_blocking(&texts).expect("embed");
    let worst = worst_difference(&ours, &reference_vectors(&dir, &texts, 256));
    assert!(worst < 1e-5, "all-MiniLM-L6-v2: differs by {worst}");
}
