using System.Numerics.Tensors;
using Learner.Nn;
using Tensor = Learner.Nn.Tensor;

namespace Learner.Data;

/// <summary>Intensity normalisations for clips and volumes.</summary>
public enum IntensityNormalization
{
    /// <summary>Leave intensities unchanged.</summary>
    None,

    /// <summary>Subtract the mean and divide by the standard deviation (a constant input becomes zeros).</summary>
    ZScore,

    /// <summary>Rescale to [0, 1] by the minimum and maximum (a constant input becomes zeros).</summary>
    MinMax,

    /// <summary>Clip to the [low, high] percentiles, then rescale that range to [0, 1] (robust to outliers).</summary>
    PercentileClip,
}

/// <summary>
/// Deterministic preprocessing of clips (T, H, W) and volumes (D, H, W): resizing, intensity normalisation and
/// frame sampling. Every method returns a new tensor and leaves its input unchanged. Leading axes beyond the ones a
/// method works on are treated as a batch (a (C, T, H, W) clip resizes frame by frame).
/// </summary>
public static class Preprocess
{
    // ------------------------------------------------------------------ resizing

    /// <summary>Resizes the last two axes with bilinear interpolation (half-pixel centres, PyTorch's
    /// <c>interpolate(mode="bilinear", align_corners=False)</c> without antialiasing).</summary>
    /// <param name="image">A tensor of rank ≥ 2, e.g. a clip (T, H, W).</param>
    /// <param name="height">Output height.</param>
    /// <param name="width">Output width.</param>
    /// <returns>The resized tensor (…, <paramref name="height"/>, <paramref name="width"/>).</returns>
    public static Tensor ResizeBilinear(Tensor image, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Rank < 2) throw new ShapeMismatchException($"ResizeBilinear needs rank ≥ 2, got shape [{string.Join(", ", image.ShapeArray)}].");
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), $"Output size {height}×{width} must be positive.");
        var inShape = image.ShapeArray;
        int h = inShape[^2], w = inShape[^1];
        if (h == 0 || w == 0) throw new ShapeMismatchException($"ResizeBilinear cannot resize an empty image of shape [{string.Join(", ", inShape)}].");
        int batch = image.Size / (h * w);
        var outShape = (int[])inShape.Clone();
        outShape[^2] = height;
        outShape[^1] = width;
        var output = new float[(long)batch * height * width];
        Resize2D(image.Data, batch, h, w, output, height, width);
        return new Tensor(output, outShape);
    }

    /// <summary>Resizes the last three axes with trilinear interpolation (half-voxel centres, PyTorch's
    /// <c>interpolate(mode="trilinear", align_corners=False)</c>).</summary>
    /// <param name="volume">A tensor of rank ≥ 3, e.g. a volume (D, H, W).</param>
    /// <param name="depth">Output depth.</param>
    /// <param name="height">Output height.</param>
    /// <param name="width">Output width.</param>
    /// <returns>The resized tensor (…, <paramref name="depth"/>, <paramref name="height"/>, <paramref name="width"/>).</returns>
    public static Tensor ResizeTrilinear(Tensor volume, int depth, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(volume);
        if (volume.Rank < 3) throw new ShapeMismatchException($"ResizeTrilinear needs rank ≥ 3, got shape [{string.Join(", ", volume.ShapeArray)}].");
        if (depth < 1 || height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(depth), $"Output size {depth}×{height}×{width} must be positive.");
        var inShape = volume.ShapeArray;
        int d = inShape[^3], h = inShape[^2], w = inShape[^1];
        if (d == 0 || h == 0 || w == 0) throw new ShapeMismatchException($"ResizeTrilinear cannot resize an empty volume of shape [{string.Join(", ", inShape)}].");
        int batch = volume.Size / (d * h * w);
        // Separable: bilinear on every input slice, then linear along depth.
        var planes = new float[(long)batch * d * height * width];
        Resize2D(volume.Data, batch * d, h, w, planes, height, width);
        var outShape = (int[])inShape.Clone();
        outShape[^3] = depth;
        outShape[^2] = height;
        outShape[^1] = width;
        int plane = height * width;
        var output = new float[(long)batch * depth * plane];
        var (i0, i1, lam) = Axis(d, depth);
        for (int b = 0; b < batch; b++)
            for (int z = 0; z < depth; z++)
            {
                var a = planes.AsSpan((b * d + i0[z]) * plane, plane);
                var c = planes.AsSpan((b * d + i1[z]) * plane, plane);
                TensorPrimitives.Lerp(a, c, lam[z], output.AsSpan((b * depth + z) * plane, plane));
            }
        return new Tensor(output, outShape);
    }

    /// <summary>Source indices and weights along one axis (half-pixel centres, clamped at the edges).</summary>
    private static (int[] I0, int[] I1, float[] Lambda) Axis(int inSize, int outSize)
    {
        var i0 = new int[outSize];
        var i1 = new int[outSize];
        var lam = new float[outSize];
        float scale = (float)inSize / outSize;
        for (int o = 0; o < outSize; o++)
        {
            float src = MathF.Max((o + 0.5f) * scale - 0.5f, 0f);
            int a = Math.Min((int)src, inSize - 1);
            i0[o] = a;
            i1[o] = Math.Min(a + 1, inSize - 1);
            lam[o] = a == inSize - 1 ? 0f : src - a;
        }
        return (i0, i1, lam);
    }

    private static void Resize2D(ReadOnlySpan<float> input, int batch, int h, int w, Span<float> output, int oh, int ow)
    {
        var (y0, y1, ly) = Axis(h, oh);
        var (x0, x1, lx) = Axis(w, ow);
        Span<float> row = w <= 4096 ? stackalloc float[w] : new float[w];
        for (int b = 0; b < batch; b++)
        {
            var src = input.Slice(b * h * w, h * w);
            var dst = output.Slice(b * oh * ow, oh * ow);
            for (int oy = 0; oy < oh; oy++)
            {
                // Vertical blend of two source rows (vectorised), then a horizontal gather.
                TensorPrimitives.Lerp(src.Slice(y0[oy] * w, w), src.Slice(y1[oy] * w, w), ly[oy], row);
                var o = dst.Slice(oy * ow, ow);
                for (int ox = 0; ox < ow; ox++)
                {
                    float a = row[x0[ox]], c = row[x1[ox]], t = lx[ox];
                    o[ox] = a + (c - a) * t;
                }
            }
        }
    }

    // ------------------------------------------------------------------ intensity

    /// <summary>Returns a normalised copy of <paramref name="x"/>.</summary>
    /// <param name="x">The clip or volume.</param>
    /// <param name="method">The normalisation.</param>
    /// <param name="lowPercent">Lower percentile for <see cref="IntensityNormalization.PercentileClip"/> (0–100).</param>
    /// <param name="highPercent">Upper percentile for <see cref="IntensityNormalization.PercentileClip"/> (0–100).</param>
    /// <returns>The normalised tensor.</returns>
    public static Tensor Normalize(Tensor x, IntensityNormalization method, double lowPercent = 1, double highPercent = 99)
    {
        ArgumentNullException.ThrowIfNull(x);
        var data = x.ToArray();
        NormalizeInPlace(data, method, lowPercent, highPercent);
        return new Tensor(data, x.ShapeArray);
    }

    /// <summary>Normalises <paramref name="values"/> in place.</summary>
    /// <param name="values">The intensities.</param>
    /// <param name="method">The normalisation.</param>
    /// <param name="lowPercent">Lower percentile for <see cref="IntensityNormalization.PercentileClip"/> (0–100).</param>
    /// <param name="highPercent">Upper percentile for <see cref="IntensityNormalization.PercentileClip"/> (0–100).</param>
    /// <exception cref="NonFiniteValueException">The input holds NaN or infinity (normalising it would spread NaN silently).</exception>
    public static void NormalizeInPlace(Span<float> values, IntensityNormalization method, double lowPercent = 1, double highPercent = 99)
    {
        if (values.Length == 0 || method == IntensityNormalization.None) return;
        if (method == IntensityNormalization.PercentileClip && !(lowPercent >= 0 && lowPercent < highPercent && highPercent <= 100))
            throw new ArgumentOutOfRangeException(nameof(lowPercent), $"Percentiles must satisfy 0 ≤ low < high ≤ 100, got {lowPercent} and {highPercent}.");
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) throw new NonFiniteValueException($"Cannot normalise intensities: value {values[i]} at index {i}.", i);
        switch (method)
        {
            case IntensityNormalization.ZScore:
                {
                    double mean = 0;
                    foreach (float v in values) mean += v;
                    mean /= values.Length;
                    double ss = 0;
                    foreach (float v in values) { double d = v - mean; ss += d * d; }
                    double std = Math.Sqrt(ss / values.Length);
                    if (std < 1e-12) { values.Clear(); return; }
                    TensorPrimitives.Subtract(values, (float)mean, values);
                    TensorPrimitives.Multiply(values, (float)(1 / std), values);
                    break;
                }
            case IntensityNormalization.MinMax:
                Rescale(values, TensorPrimitives.Min(values), TensorPrimitives.Max(values));
                break;
            case IntensityNormalization.PercentileClip:
                {
                    var sorted = values.ToArray();
                    Array.Sort(sorted);
                    float lo = (float)Percentile(sorted, lowPercent), hi = (float)Percentile(sorted, highPercent);
                    TensorPrimitives.Max(values, lo, values);
                    TensorPrimitives.Min(values, hi, values);
                    Rescale(values, lo, hi);
                    break;
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown normalisation.");
        }
    }

    private static void Rescale(Span<float> values, float min, float max)
    {
        float range = max - min;
        if (!(range > 0)) { values.Clear(); return; }
        TensorPrimitives.Subtract(values, min, values);
        TensorPrimitives.Multiply(values, 1f / range, values);
    }

    /// <summary>The <paramref name="percent"/>-th percentile of sorted values, with linear interpolation (numpy's default).</summary>
    /// <param name="sorted">Values in increasing order.</param>
    /// <param name="percent">Percentile in [0, 100].</param>
    /// <returns>The percentile.</returns>
    public static double Percentile(ReadOnlySpan<float> sorted, double percent)
    {
        if (sorted.Length == 0) throw new ArgumentException("Percentile of no values.", nameof(sorted));
        if (!(percent >= 0 && percent <= 100)) throw new ArgumentOutOfRangeException(nameof(percent), percent, "Percentile must be in [0, 100].");
        double pos = percent / 100.0 * (sorted.Length - 1);
        int i = (int)Math.Floor(pos);
        if (i >= sorted.Length - 1) return sorted[^1];
        double f = pos - i;
        return sorted[i] + f * ((double)sorted[i + 1] - sorted[i]);
    }

    /// <summary>A copy of <paramref name="dataset"/> whose payloads are normalised per scan (<see cref="Normalize"/>) each
    /// time they are loaded: per-scan statistics only, so no information crosses scans or patients. Per-clip z-scoring
    /// removes a scanner's or patient's overall gain and offset, a nuisance that otherwise dominates small encoders
    /// (docs/results.md, "Diagnosis"). Scores, labels and ids are kept; scans without a payload stay without one.</summary>
    /// <remarks>The result records what was applied (<see cref="LongitudinalDataset.Normalization"/>, kept by the
    /// datasets derived from it), so a pretrainer given it applies no normalisation of its own and records this one in its
    /// checkpoints. Normalising a dataset again the same way returns it unchanged; normalising another dataset of the same
    /// payload cache the same way (a pretrainer's, then an embedding pass's) gives the same payload objects, whose values
    /// the cache already holds. The raw values a check cached are handed to the normalised view, not decoded again.</remarks>
    /// <param name="dataset">The dataset as stored (its <see cref="LongitudinalDataset.Normalization"/> null or the same).</param>
    /// <param name="method">The normalisation; <see cref="IntensityNormalization.None"/> keeps the payloads (and records that
    /// choice).</param>
    /// <param name="minimumRank">Payloads of lower rank are loaded unchanged (2: normalise clips and volumes, leave
    /// feature vectors alone). Default 1: every payload.</param>
    /// <returns>The dataset with normalising payloads.</returns>
    /// <exception cref="ArgumentException">The dataset was already normalised another way.</exception>
    public static LongitudinalDataset NormalizeIntensities(LongitudinalDataset dataset, IntensityNormalization method, int minimumRank = 1)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown normalisation.");
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumRank, 0);
        var normalization = new ScanNormalization(method, minimumRank);
        if (dataset.Normalization is { } done)
        {
            if (done == normalization) return dataset;
            throw new ArgumentException($"The dataset is already normalised ({done}); normalise the dataset as stored, not again with {normalization}.", nameof(dataset));
        }
        if (method == IntensityNormalization.None) return dataset.WithNormalization(normalization);
        var cache = dataset.PayloadCache;
        Tensor Load(IScanPayload payload)
        {
            var x = cache.LoadForDerivedView(payload);
            return x.Rank >= minimumRank ? Normalize(x, method) : x;
        }
        // The normalised views share the dataset's payload cache (and the budget its owner chose).
        return dataset.WithPayloads(payload => cache.NormalizedView(payload, normalization, p => new DelegatePayload(() => Load(p), $"{p.Description} ({method} per scan)")), normalization);
    }

    // ------------------------------------------------------------------ frames

    /// <summary>Picks <paramref name="frames"/> frames spread evenly over the clip (first and last included; frames
    /// repeat when the clip is shorter).</summary>
    /// <param name="clip">A clip (T, …).</param>
    /// <param name="frames">Frames wanted.</param>
    /// <returns>The clip (<paramref name="frames"/>, …).</returns>
    public static Tensor SampleFramesUniform(Tensor clip, int frames)
    {
        ArgumentNullException.ThrowIfNull(clip);
        int t = CheckClip(clip, frames);
        Span<int> idx = frames <= 1024 ? stackalloc int[frames] : new int[frames];
        for (int i = 0; i < frames; i++)
            idx[i] = frames == 1 ? (t - 1) / 2 : (int)Math.Round((double)i * (t - 1) / (frames - 1), MidpointRounding.AwayFromZero);
        return Gather(clip, idx);
    }

    /// <summary>Picks <paramref name="frames"/> consecutive frames at a random start.</summary>
    /// <param name="clip">A clip (T, …) with T ≥ <paramref name="frames"/>.</param>
    /// <param name="frames">Frames wanted.</param>
    /// <param name="rng">The generator.</param>
    /// <returns>The clip (<paramref name="frames"/>, …).</returns>
    public static Tensor SampleFramesContiguous(Tensor clip, int frames, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(clip);
        ArgumentNullException.ThrowIfNull(rng);
        int t = CheckClip(clip, frames);
        if (t < frames) throw new ShapeMismatchException($"Cannot take {frames} contiguous frames from a clip of {t} frames (shape [{string.Join(", ", clip.ShapeArray)}]).");
        int start = rng.NextInt(t - frames + 1);
        Span<int> idx = frames <= 1024 ? stackalloc int[frames] : new int[frames];
        for (int i = 0; i < frames; i++) idx[i] = start + i;
        return Gather(clip, idx);
    }

    private static int CheckClip(Tensor clip, int frames)
    {
        if (clip.Rank < 1 || clip.Dim(0) == 0) throw new ShapeMismatchException($"Frame sampling needs a clip with at least one frame, got shape [{string.Join(", ", clip.ShapeArray)}].");
        if (frames < 1) throw new ArgumentOutOfRangeException(nameof(frames), frames, "At least one frame must be sampled.");
        return clip.Dim(0);
    }

    private static Tensor Gather(Tensor clip, ReadOnlySpan<int> idx)
    {
        int frame = clip.Size / clip.Dim(0);
        var output = new float[(long)idx.Length * frame];
        var src = clip.Data;
        for (int i = 0; i < idx.Length; i++) src.Slice(idx[i] * frame, frame).CopyTo(output.AsSpan(i * frame, frame));
        var shape = clip.ShapeArray;
        shape[0] = idx.Length;
        return new Tensor(output, shape);
    }
}
