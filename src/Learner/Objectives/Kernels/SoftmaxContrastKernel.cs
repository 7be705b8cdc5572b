using System.Numerics.Tensors;
using Learner.Nn.Kernels;

namespace Learner.Objectives.Kernels;

/// <summary>
/// The fused forward+backward of every softmax (cross-entropy over similarities) objective, e.g.
/// L = Σ_i w_i [ logΣ_{k≠i} exp(x_ik) − Σ_k t_ik x_ik ], x_ik = a_i·c_k / τ, with
/// ∂L/∂(a_i·c_k) = w_i (p_ik − t_ik) / τ; other row losses of the logits (<see cref="ILogitRow"/>, e.g. NT-Xent's
/// one term per positive pair) share the same tiles.
/// </summary>
/// <remarks>
/// The anchors are processed in row tiles: one GEMM gives a tile of logits (tile×N_c), each row's softmax is
/// computed in place in one sweep (max, exp and a double-accumulated sum, then the scaled gradient), and two GEMMs
/// push the tile's gradient into both operands. Memory is O(tile·N_c), reused between calls; rows of a tile are
/// processed in parallel.
/// </remarks>
internal sealed class SoftmaxContrastKernel
{
    private readonly Workspace<float> _tile = new(), _scratch = new();
    private readonly Workspace<double> _rowLoss = new();

    /// <summary>Runs the kernel with the targets' softmax row; accumulates into the gradients (which must be cleared by
    /// the caller).</summary>
    /// <returns>The loss and the number of anchors with non-zero weight.</returns>
    public (double Loss, int Active) Run<T>(T targets, ReadOnlyMemory<float> aMem, int na, ReadOnlyMemory<float> cMem, int nc, int d, bool self, float invTau,
        Memory<float> gradAMem, Memory<float> gradCMem) where T : struct, ISoftmaxTargets
        => RunRows(new TargetRow<T>(targets), aMem, na, cMem, nc, d, self, invTau, gradAMem, gradCMem);

    /// <summary>Runs the kernel with any per-anchor row loss (<see cref="ILogitRow"/>): the same tiles, GEMMs and
    /// parallel rows; accumulates into the gradients (which must be cleared by the caller).</summary>
    /// <returns>The loss and the number of active anchors.</returns>
    public (double Loss, int Active) RunRows<T>(T rowFn, ReadOnlyMemory<float> aMem, int na, ReadOnlyMemory<float> cMem, int nc, int d, bool self, float invTau,
        Memory<float> gradAMem, Memory<float> gradCMem) where T : struct, ILogitRow
    {
        bool wantGrad = !gradAMem.IsEmpty;
        var a = aMem.Span; var c = cMem.Span;
        int tileRows = Tiling.Rows(na, nc);
        var tile = _tile.Get(tileRows * nc);
        _scratch.Get(Tiling.Workers * nc);
        var rowLoss = _rowLoss.Get(na);
        var tileArr = _tile.Array;
        var scratchArr = _scratch.Array;
        var rowLossArr = _rowLoss.Array;
        int active = 0;
        for (int i0 = 0; i0 < na; i0 += tileRows)
        {
            int rows = Math.Min(tileRows, na - i0);
            Gemm.Sgemm(false, true, rows, nc, d, invTau, a.Slice(i0 * d, rows * d), d, c.Slice(0, nc * d), d, 0f, tile, nc);
            RowParallel.Run(new RowsJob<T>(rowFn, tileArr, scratchArr, rowLossArr, i0, nc, self, invTau, wantGrad), rows, nc);
            if (wantGrad)
            {
                Gemm.Sgemm(false, false, rows, d, nc, 1f, tile, nc, c.Slice(0, nc * d), d, 1f, gradAMem.Span.Slice(i0 * d, rows * d), d);
                Gemm.Sgemm(true, false, nc, d, rows, 1f, tile, nc, a.Slice(i0 * d, rows * d), d, 1f, gradCMem.Span.Slice(0, nc * d), d);
            }
        }
        double loss = 0;
        for (int i = 0; i < na; i++) { loss += rowLoss[i]; if (rowFn.IsActive(i)) active++; }
        return (loss, active);
    }

    /// <summary>The weighted loss of each of the last run's first <paramref name="rows"/> anchors (0 for an inactive one),
    /// valid until the next run.</summary>
    public ReadOnlySpan<double> RowLosses(int rows) => _rowLoss.Array.AsSpan(0, rows);

    private readonly struct RowsJob<T> : IRowJob where T : struct, ILogitRow
    {
        private readonly T _row;
        private readonly float[] _tile, _scratch;
        private readonly double[] _rowLoss;
        private readonly int _start, _nc;
        private readonly bool _self, _wantGrad;
        private readonly float _invTau;

        public RowsJob(T row, float[] tile, float[] scratch, double[] rowLoss, int start, int nc, bool self, float invTau, bool wantGrad)
        {
            _row = row; _tile = tile; _scratch = scratch; _rowLoss = rowLoss; _start = start; _nc = nc;
            _self = self; _invTau = invTau; _wantGrad = wantGrad;
        }

        public void Run(int r0, int r1, int worker)
        {
            var scratch = _scratch.AsSpan(worker * _nc, _nc);
            for (int r = r0; r < r1; r++)
                _rowLoss[_start + r] = _row.Evaluate(_start + r, _tile.AsSpan(r * _nc, _nc), _self, _invTau, _wantGrad, scratch);
        }
    }

    /// <summary>Cross-entropy against a target distribution: w_i [logΣ_{k≠i} exp(x_ik) − Σ_k t_ik x_ik].</summary>
    private readonly struct TargetRow<T> : ILogitRow where T : struct, ISoftmaxTargets
    {
        private readonly T _targets;

        public TargetRow(T targets) => _targets = targets;

        public bool IsActive(int i) => _targets.AnchorWeight(i) != 0f;

        public double Evaluate(int i, Span<float> row, bool self, float invTau, bool wantGrad, Span<float> scratch)
        {
            float w = _targets.AnchorWeight(i);
            if (w == 0f) { row.Clear(); return 0; }
            double tdot = _targets.TargetDot(i, row, scratch);
            if (self) row[i] = float.NegativeInfinity;
            float m = Simd.MaxNoNaN(row);
            double sum = RowKernels.ExpShiftSum(row, m);
            double lse = m + Math.Log(sum);
            if (wantGrad)
            {
                TensorPrimitives.Multiply(row, (float)(w * invTau / sum), row);
                _targets.SubtractTargets(i, row, w * invTau, scratch);
            }
            return w * (lse - tdot);
        }
    }
}
