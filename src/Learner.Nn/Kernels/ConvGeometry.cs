namespace Learner.Nn.Kernels;

/// <summary>
/// The geometry of a 3-D convolution or pooling window over inputs [N, C, D, H, W]; 2-D operations use
/// D = 1 with a 1-deep window, stride 1, padding 0 and dilation 1 along depth.
/// </summary>
internal readonly struct ConvGeometry
{
    internal ConvGeometry(int n, int c, int d, int h, int w, int cout, int groups,
        int kd, int kh, int kw, int sd, int sh, int sw, int pd, int ph, int pw, int dd, int dh, int dw)
    {
        N = n; C = c; D = d; H = h; W = w; Cout = cout; Groups = groups;
        KD = kd; KH = kh; KW = kw; SD = sd; SH = sh; SW = sw; PD = pd; PH = ph; PW = pw; DD = dd; DH = dh; DW = dw;
        OD = OutLength(d, kd, sd, pd, dd);
        OH = OutLength(h, kh, sh, ph, dh);
        OW = OutLength(w, kw, sw, pw, dw);
    }

    internal readonly int N, C, D, H, W, Cout, Groups;
    internal readonly int KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW;
    internal readonly int OD, OH, OW;

    /// <summary>Output length along one axis: ⌊(in + 2p − d(k − 1) − 1) / s⌋ + 1 (may be ≤ 0 when the window does not fit).</summary>
    internal static int OutLength(int input, int k, int s, int p, int d)
    {
        long span = (long)d * (k - 1) + 1;
        long avail = (long)input + 2L * p - span;
        return avail < 0 ? 0 : (int)(avail / s + 1);
    }

    internal int Cg => C / Groups;
    internal int CoutG => Cout / Groups;
    internal int KernelVolume => KD * KH * KW;
    /// <summary>Rows of one group's im2col matrix (and columns of one group's weight matrix).</summary>
    internal int Kg => Cg * KernelVolume;
    /// <summary>Rows of the full im2col matrix of one sample.</summary>
    internal int K => C * KernelVolume;
    internal int InSpatial => D * H * W;
    internal int OutSpatial => OD * OH * OW;

    /// <summary>A 1×1(×1) window with stride 1 and no padding: the im2col matrix is the input itself.</summary>
    internal bool IsPointwise => KD == 1 && KH == 1 && KW == 1 && SD == 1 && SH == 1 && SW == 1 && PD == 0 && PH == 0 && PW == 0;

    /// <summary>The output positions <c>o</c> in [lo, hi) whose input index <c>o·s + off</c> lies in [0, length).</summary>
    internal static (int Lo, int Hi) ValidRange(int off, int s, int length, int outLength)
    {
        int lo = off >= 0 ? 0 : (-off + s - 1) / s;
        int last = length - 1 - off;
        int hi = last < 0 ? 0 : last / s + 1;
        if (hi > outLength) hi = outLength;
        if (lo > hi) lo = hi;
        return (lo, hi);
    }
}
