//! The built-in embedder's element-wise kernels, as candle in-place operations: a crate of its
//! own only so that the dev profile can build it optimised, like candle's own kernels
//! (`[profile.dev.package.support-agent-kernels]` in the main Cargo.toml). Unoptimised, these
//! loops would make the embedder several times slower in `scripts/run.sh` and in the tests.
//!
//! Each operation replaces tensors that the reference BERT allocates and walks one after another
//! (a bias, a residual sum, a mask, a scale, five passes of softmax, GELU) with one pass over
//! memory that is already there. `support_agent::knowledge::embed::Encoder` calls them; its test
//! `the_encoder_gives_the_vectors_of_candles_bert` holds the result to candle-transformers' BERT.

#![forbid(unsafe_code)]

use candle_core::{CpuStorage, InplaceOp1, InplaceOp2, InplaceOp3, Layout, Result, bail};
use rayon::prelude::*;

/// Rows handed to one rayon task.
const ROWS_PER_TASK: usize = 64;

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

/// What follows a bias: nothing, or one of the activations BERT configurations name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// The bias alone.
    None,
    /// `gelu`: GELU with the error function.
    Gelu,
    /// `gelu_approximate`: GELU's tanh approximation.
    GeluTanh,
    /// `relu`.
    Relu,
}

/// `x[r][c] = act(x[r][c] + bias[c])` for a (rows, cols) product.
pub struct AddBias(pub Activation);

impl InplaceOp2 for AddBias {
    fn name(&self) -> &'static str {
        match self.0 {
            Activation::None => "add-bias",
            Activation::Gelu => "add-bias-gelu",
            Activation::GeluTanh => "add-bias-gelu-tanh",
            Activation::Relu => "add-bias-relu",
        }
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
        let cols = bias.len();
        if cols == 0 || !x.len().is_multiple_of(cols) {
            bail!(
                "{}: a bias of {cols} values does not fit the rows",
                self.name()
            );
        }
        let act = self.0;
        x.par_chunks_mut(cols * ROWS_PER_TASK).for_each(|rows| {
            for row in rows.chunks_exact_mut(cols) {
                let pairs = row.iter_mut().zip(bias);
                match act {
                    Activation::None => pairs.for_each(|(x, b)| *x += b),
                    Activation::Gelu => pairs.for_each(|(x, b)| *x = gelu(*x + b)),
                    Activation::GeluTanh => pairs.for_each(|(x, b)| *x = gelu_tanh(*x + b)),
                    Activation::Relu => pairs.for_each(|(x, b)| *x = (*x + b).max(0.0)),
                }
            }
        });
        Ok(())
    }
}

/// `x[r][c] += bias[c] + residual[r][c]`.
pub struct AddBiasResidual;

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

/// Softmax over each row of attention scores (n, heads, len, len), counting only the first
/// `lengths[text]` keys of each text: the padding's weights are exactly 0, as the reference's
/// mask of `f32::MIN` makes them.
pub struct MaskedSoftmax {
    /// Each text's number of tokens (the rest of its row is padding).
    pub lengths: Vec<usize>,
    /// Attention heads.
    pub heads: usize,
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
        if self.lengths.iter().any(|&l| l == 0 || l > len) {
            bail!("{name}: every text needs between 1 and {len} tokens");
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

/// GELU's tanh approximation, as candle computes it:
/// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
#[inline]
pub fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044_715 * x * x * x)).tanh())
}

/// GELU: `x/2 · (1 + erf(x/√2))`.
#[inline]
pub fn gelu(x: f32) -> f32 {
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
