//! The BERT encoder of the built-in embedder, written for inference on the CPU.
//!
//! It computes what `candle_transformers::models::bert::BertModel` computes (the test
//! `the_encoder_gives_the_vectors_of_candles_bert` holds the two to 1e-5), in fewer passes over
//! memory: the query, key and value projections are one matrix product (with the attention's
//! 1/√d folded into the query's weights), the padding mask, the scaling and the softmax are one
//! pass over the scores, and the biases, the residual sums and GELU are added in place to the
//! products they follow instead of allocating a tensor each (the kernels are in `src/kernels`,
//! a crate the dev profile optimises). Ingestion's time is almost all this
//! forward pass (BENCHMARKS-knowledge.md, "Ingestion throughput").

use candle_core::{Result, Tensor, bail};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use support_agent_kernels::{Activation, AddBias, AddBiasResidual, MaskedSoftmax};

/// A BERT encoder's weights, laid out for [`Encoder::forward`].
pub struct Encoder {
    word: Tensor,
    /// Position embeddings with the token type 0's embedding added (every text is one segment).
    position: Tensor,
    norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    hidden: usize,
    /// The intermediate layer's activation.
    activation: Activation,
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

struct Layer {
    /// (hidden, 3 × hidden): the query (scaled by 1/√d), key and value projections side by side.
    qkv: Tensor,
    qkv_bias: Tensor,
    attention_out: Tensor,
    attention_out_bias: Tensor,
    attention_norm: Norm,
    intermediate: Tensor,
    intermediate_bias: Tensor,
    out: Tensor,
    out_bias: Tensor,
    out_norm: Norm,
}

impl Encoder {
    /// Loads the weights of a BERT checkpoint (with or without a `bert.` prefix).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let activation = match config.hidden_act {
            HiddenAct::Gelu => Activation::Gelu,
            HiddenAct::GeluApproximate => Activation::GeluTanh,
            HiddenAct::Relu => Activation::Relu,
        };
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else {
            vb.pp("bert")
        };
        let h = config.hidden_size;
        let heads = config.num_attention_heads;
        if heads == 0 || !h.is_multiple_of(heads) {
            bail!("hidden_size {h} is not a multiple of num_attention_heads {heads}");
        }
        let head_dim = h / heads;
        let e = vb.pp("embeddings");
        let word = e.get((config.vocab_size, h), "word_embeddings.weight")?;
        let token_type = e.get((config.type_vocab_size, h), "token_type_embeddings.weight")?;
        let position = e
            .get(
                (config.max_position_embeddings, h),
                "position_embeddings.weight",
            )?
            .broadcast_add(&token_type.get(0)?)?;
        let eps = config.layer_norm_eps as f32;
        let norm = |vb: &VarBuilder| -> Result<Norm> {
            Ok(Norm {
                weight: vb.get(h, "weight")?,
                bias: vb.get(h, "bias")?,
                eps,
            })
        };
        // A linear layer's weight is (out, in); the products here want (in, out).
        let linear = |vb: &VarBuilder, out: usize, inp: usize| -> Result<(Tensor, Tensor)> {
            let w = vb.get((out, inp), "weight")?.t()?.contiguous()?;
            Ok((w, vb.get(out, "bias")?))
        };
        let scale = 1.0 / (head_dim as f64).sqrt();
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            let (q, qb) = linear(&a.pp("self.query"), h, h)?;
            let (k, kb) = linear(&a.pp("self.key"), h, h)?;
            let (v, vb_) = linear(&a.pp("self.value"), h, h)?;
            let qkv = Tensor::cat(&[&(q * scale)?, &k, &v], 1)?.contiguous()?;
            let qkv_bias = Tensor::cat(&[&(qb * scale)?, &kb, &vb_], 0)?;
            let (attention_out, attention_out_bias) = linear(&a.pp("output.dense"), h, h)?;
            let (intermediate, intermediate_bias) =
                linear(&l.pp("intermediate.dense"), config.intermediate_size, h)?;
            let (out, out_bias) = linear(&l.pp("output.dense"), h, config.intermediate_size)?;
            layers.push(Layer {
                qkv,
                qkv_bias,
                attention_out,
                attention_out_bias,
                attention_norm: norm(&a.pp("output.LayerNorm"))?,
                intermediate,
                intermediate_bias,
                out,
                out_bias,
                out_norm: norm(&l.pp("output.LayerNorm"))?,
            });
        }
        Ok(Self {
            word,
            position,
            norm: norm(&e.pp("LayerNorm"))?,
            layers,
            heads,
            head_dim,
            hidden: h,
            activation,
        })
    }

    /// The last hidden states, (n, len, hidden), of `n` texts given as `ids` (n × len token ids,
    /// each row padded after its `lengths[row]` tokens). No position attends to padding; the
    /// padded positions' own states are meaningless and must be masked out.
    pub fn forward(&self, ids: Vec<u32>, lengths: &[usize]) -> Result<Tensor> {
        let n = lengths.len();
        if n == 0 || !ids.len().is_multiple_of(n) {
            bail!("{} token ids do not make {n} rows", ids.len());
        }
        let len = ids.len() / n;
        if lengths.iter().any(|&l| l == 0 || l > len) {
            bail!("every text needs between 1 and {len} tokens");
        }
        let (h, heads, d) = (self.hidden, self.heads, self.head_dim);
        let ids = Tensor::from_vec(ids, n * len, self.word.device())?;
        let x = self
            .word
            .index_select(&ids, 0)?
            .reshape((n, len, h))?
            .broadcast_add(&self.position.narrow(0, 0, len)?)?
            .reshape((n * len, h))?;
        let mut x = self.norm.forward(&x)?;
        let mask = MaskedSoftmax {
            lengths: lengths.to_vec(),
            heads,
        };
        for layer in &self.layers {
            let qkv = x.matmul(&layer.qkv)?;
            qkv.inplace_op2(&layer.qkv_bias, &AddBias(Activation::None))?;
            // (n, len, 3, heads, d) -> (3, n, heads, len, d): the only copy the attention needs.
            let qkv = qkv
                .reshape((n, len, 3, heads, d))?
                .permute((2, 0, 3, 1, 4))?
                .contiguous()?;
            let (q, k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
            let scores = q.matmul(&k.t()?)?;
            scores.inplace_op1(&mask)?;
            let context = scores
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((n * len, h))?;
            let attended = context.matmul(&layer.attention_out)?;
            attended.inplace_op3(&layer.attention_out_bias, &x, &AddBiasResidual)?;
            x = layer.attention_norm.forward(&attended)?;
            let inner = x.matmul(&layer.intermediate)?;
            inner.inplace_op2(&layer.intermediate_bias, &AddBias(self.activation))?;
            let out = inner.matmul(&layer.out)?;
            out.inplace_op3(&layer.out_bias, &x, &AddBiasResidual)?;
            x = layer.out_norm.forward(&out)?;
        }
        x.reshape((n, len, h))
    }
}

impl Norm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use support_agent_kernels::erf;

    #[test]
    fn the_fast_erf_matches_the_error_function_to_single_precision() {
        let xs: Vec<f32> = (-60_000..=60_000).map(|i| i as f32 / 10_000.0).collect();
        // candle's erf, which the reference BERT's GELU calls.
        let exact = Tensor::new(xs.as_slice(), &Device::Cpu)
            .and_then(|t| t.erf())
            .and_then(|t| t.to_vec1::<f32>())
            .expect("candle's erf");
        let worst = xs
            .iter()
            .zip(&exact)
            .map(|(&x, &e)| (erf(x) - e).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 5e-7, "off by {worst}");
        assert_eq!(erf(0.0), 0.0);
        // Saturated past ±4, to within f32's resolution below 1.
        assert!((erf(9.0) - 1.0).abs() < 2e-7 && (erf(-9.0) + 1.0).abs() < 2e-7);
    }
}
