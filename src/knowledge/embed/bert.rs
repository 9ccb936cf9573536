//! The BERT encoder of the built-in embedder, written for inference on the CPU.
//!
//! It computes what `candle_transformers::models::bert::BertModel` computes (the test
//! `the_encoder_gives_the_vectors_of_candles_bert` holds the two to 1e-5), in fewer passes over
//! memory: the query, key and value projections are one matrix product (with the attention's
//! 1/√d folded into the query's weights), the padding mask, the scaling and the softmax are one
//! pass over the scores, and the biases, the residual sums and GELU are added in place to the
//! products they follow instead of allocating a tensor each. Ingestion's time is almost all this
//! forward pass (BENCHMARKS-knowledge.md, "Ingestion throughput").

use candle_core::{CpuStorage, Layout, Result, Tensor, bail};
use candle_core::{InplaceOp1, InplaceOp2, InplaceOp3};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use rayon::prelude::*;

/// Rows handed to one rayon task by the in-place operations.
const ROWS_PER_TASK: usize = 64;

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
        if config.hidden_act != HiddenAct::Gelu {
            bail!("only BERT models with the exact GELU activation are supported");
        }
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
        })
    }

    /// The last hidden states, (n, len, hidden), of `n` texts given as `ids` (n × len token ids,
    /// each row padded after its `lengths[row]` tokens). Padded positions attend to nothing and
    /// nothing attends to them; their own states are meaningless and must be masked out.
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
            qkv.inplace_op2(&layer.qkv_bias, &AddBias)?;
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
            inner.inplace_op2(&layer.intermediate_bias, &AddBiasGelu)?;
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

/// The f32 slice of a contiguous tensor's storage.
fn slice_of<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((from, to))) => Ok(&v[from..to]),
        _ => bail!("{op}: expects a contiguous f32 tensor"),
    }
}

fn slice_of_mut<'a>(s: &'a mut CpuStorage, l: &Layout, op: &str) -> Result<&'a mut [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((from, to))) => Ok(&mut v[from..to]),
        _ => bail!("{op}: expects a contiguous f32 tensor"),
    }
}

/// `x[r][c] += bias[c]` for a (rows, cols) product.
struct AddBias;

impl InplaceOp2 for AddBias {
    fn name(&self) -> &'static str {
        "add-bias"
    }
    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let bias = slice_of(s2, l2, self.name())?;
        let x = slice_of_mut(s1, l1, self.name())?;
        rows_in_parallel(x, bias.len(), |row| {
            row.iter_mut().zip(bias).for_each(|(x, b)| *x += b);
        })
    }
}

/// `x[r][c] = gelu(x[r][c] + bias[c])`, GELU with the error function as BERT defines it.
struct AddBiasGelu;

impl InplaceOp2 for AddBiasGelu {
    fn name(&self) -> &'static str {
        "add-bias-gelu"
    }
    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let bias = slice_of(s2, l2, self.name())?;
        let x = slice_of_mut(s1, l1, self.name())?;
        rows_in_parallel(x, bias.len(), |row| {
            row.iter_mut()
                .zip(bias)
                .for_each(|(x, b)| *x = gelu(*x + b));
        })
    }
}

/// `x[r][c] += bias[c] + residual[r][c]`.
struct AddBiasResidual;

impl InplaceOp3 for AddBiasResidual {
    fn name(&self) -> &'static str {
        "add-bias-residual"
    }
    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<()> {
        let bias = slice_of(s2, l2, self.name())?;
        let residual = slice_of(s3, l3, self.name())?;
        let x = slice_of_mut(s1, l1, self.name())?;
        let cols = bias.len();
        if cols == 0 || x.len() != residual.len() || !x.len().is_multiple_of(cols) {
            bail!("{}: shapes do not match", self.name());
        }
        x.par_chunks_mut(cols * ROWS_PER_TASK)
            .zip(residual.par_chunks(cols * ROWS_PER_TASK))
            .for_each(|(x, r)| {
                for (x, r) in x.chunks_exact_mut(cols).zip(r.chunks_exact(cols)) {
                    for ((x, r), b) in x.iter_mut().zip(r).zip(bias) {
                        *x += b + r;
                    }
                }
            });
        Ok(())
    }
}

/// Runs `f` on every row of `cols` values of `x`, rows shared among rayon's threads.
fn rows_in_parallel(x: &mut [f32], cols: usize, f: impl Fn(&mut [f32]) + Sync) -> Result<()> {
    if cols == 0 || !x.len().is_multiple_of(cols) {
        bail!(
            "a bias of {cols} values does not fit rows of {} values",
            x.len()
        );
    }
    x.par_chunks_mut(cols * ROWS_PER_TASK)
        .for_each(|rows| rows.chunks_exact_mut(cols).for_each(&f));
    Ok(())
}

/// Softmax over each row of attention scores (n, heads, len, len), counting only the first
/// `lengths[text]` keys of each text: the padding's weights are exactly 0, as the reference's
/// mask of `f32::MIN` makes them.
struct MaskedSoftmax {
    lengths: Vec<usize>,
    heads: usize,
}

impl InplaceOp1 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }
    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let name = self.name();
        let scores = slice_of_mut(storage, layout, name)?;
        let n = self.lengths.len();
        let per_text = scores.len() / n.max(1);
        let len = layout.dims().last().copied().unwrap_or(0);
        if per_text != self.heads * len * len || scores.len() != n * per_text {
            bail!("{name}: the scores are not (texts, heads, len, len)");
        }
        scores
            .par_chunks_mut(per_text)
            .zip(&self.lengths)
            .for_each(|(text, &valid)| {
                for row in text.chunks_exact_mut(len) {
                    let (keys, padding) = row.split_at_mut(valid);
                    let max = keys.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0.0;
                    for s in keys.iter_mut() {
                        *s = (*s - max).exp();
                        sum += *s;
                    }
                    keys.iter_mut().for_each(|s| *s /= sum);
                    padding.fill(0.0);
                }
            });
        Ok(())
    }
}

/// GELU: `x/2 · (1 + erf(x/√2))`.
#[inline]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The error function in single precision, as a rational function on [-4, 4] (outside it erf
/// is ±1 in f32): the approximation of Eigen and XLA, within a few units in the last place, and
/// branch-free, so that the compiler vectorises the loops that call it (libm's `erff`, which
/// candle calls, branches on the argument's range and runs one value at a time). Plain products
/// and sums, not `mul_add`: without FMA among the build's target features that is a call to a
/// software `fmaf`.
#[inline]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p - 2.101_024e-6;
    p = x2 * p - 5.692_506_4e-5;
    p = x2 * p - 7.349_906_3e-4;
    p = x2 * p - 2.954_6e-3;
    p = x2 * p - 1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 - 2.133_740_6e-4;
    q = x2 * q - 1.682_827e-3;
    q = x2 * q - 7.373_329e-3;
    q = x2 * q - 1.426_474e-2;
    x * p / q
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::erf;

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
