using System.Numerics.Tensors;
using Learner.Nn;
using Tensor = Learner.Nn.Tensor;

namespace Learner.Data;

/// <summary>Settings of <see cref="Augment.Apply(Tensor, Rng, AugmentationOptions)"/>. The defaults give mild augmentation suited to ultrasound clips.</summary>
public sealed record AugmentationOptions
{
    /// <summary>Output height of the random crop; 0 disables cropping.</summary>
    public int CropHeight { get; init; }

    /// <summary>Output width of the random crop; 0 disables cropping.</summary>
    public int CropWidth { get; init; }

    /// <summary>Largest random translation of the last two axes, in pixels: each of the row and column offsets is uniform
    /// in ±this, one draw for the whole tensor, and the uncovered border repeats the nearest edge pixel (a probe placed a
    /// little off; see <see cref="Augment.Shift"/>). Default 0 (off).</summary>
    public int MaxShift { get; init; }

    /// <summary>Probability of a horizontal (last-axis) flip. Default 0.5.</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>Largest additive brightness shift, in intensity units (uniform in ±this). Default 0.1.</summary>
    public float MaxBrightness { get; init; } = 0.1f;

    /// <summary>Largest relative contrast change (factor uniform in 1 ± this). Default 0.1.</summary>
    public float MaxContrast { get; init; } = 0.1f;

    /// <summary>Standard deviation of additive Gaussian noise. Default 0.02.</summary>
    public float NoiseStd { get; init; } = 0.02f;

    /// <summary>When true, every scan of one patient in a pretraining batch gets the same crop, shift, flip, brightness and
    /// contrast draw (one draw per patient and view; the noise stays per scan): the batch then shows each patient as if
    /// acquired under other settings, while the differences between that patient's scans — what change detection reads
    /// — are left as they are. Default false (one draw per scan).</summary>
    public bool SharedWithinPatient { get; init; }

    /// <summary>Whether a transform of the last two axes (crop or shift) is on: those need scans of rank ≥ 2.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsSpatial => CropHeight > 0 || MaxShift > 0;

    /// <summary>The settings in words, culture-invariant ("flip 0.5, brightness ±0.1, …"; "none" when every transform is
    /// off), as experiment settings and run records show them.</summary>
    /// <returns>The description.</returns>
    public string Describe()
    {
        var parts = new List<string>();
        static string F(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        static string G(float v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        if (CropHeight > 0) parts.Add(FormattableString.Invariant($"crop {CropHeight}×{CropWidth}"));
        if (MaxShift > 0) parts.Add(FormattableString.Invariant($"shift ±{MaxShift}"));
        if (FlipProbability > 0) parts.Add($"flip {F(FlipProbability)}");
        if (MaxBrightness > 0) parts.Add($"brightness ±{G(MaxBrightness)}");
        if (MaxContrast > 0) parts.Add($"contrast ±{G(MaxContrast)}");
        if (NoiseStd > 0) parts.Add($"noise σ {G(NoiseStd)}");
        if (parts.Count == 0) return "none";
        return string.Join(", ", parts) + (SharedWithinPatient ? "; one draw per patient and view" : "");
    }

    /// <summary>Checks every setting on its own, so that a bad value is refused before the first step rather than
    /// skipped (a negative or NaN amount would otherwise switch its transform off silently) or thrown mid-run.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it and its value.</exception>
    public void Validate()
    {
        if (CropHeight < 0 || CropWidth < 0 || (CropHeight == 0) != (CropWidth == 0))
            throw new ArgumentException(FormattableString.Invariant($"Augmentation crop must be two positive sizes or both 0 (off), got CropHeight = {CropHeight}, CropWidth = {CropWidth}."), nameof(CropHeight));
        if (MaxShift is < 0 or > 1 << 20)
            throw new ArgumentException(FormattableString.Invariant($"Augmentation MaxShift must be between 0 (off) and 2^20 pixels, got {MaxShift}."), nameof(MaxShift));
        if (!(FlipProbability >= 0 && FlipProbability <= 1))
            throw new ArgumentException(FormattableString.Invariant($"Augmentation FlipProbability must be in [0, 1], got {FlipProbability}."), nameof(FlipProbability));
        if (!(MaxBrightness >= 0) || !float.IsFinite(MaxBrightness))
            throw new ArgumentException(FormattableString.Invariant($"Augmentation MaxBrightness must be finite and ≥ 0, got {MaxBrightness}."), nameof(MaxBrightness));
        if (!(MaxContrast >= 0 && MaxContrast < 1))
            throw new ArgumentException(FormattableString.Invariant($"Augmentation MaxContrast must be in [0, 1), got {MaxContrast}."), nameof(MaxContrast));
        if (!(NoiseStd >= 0) || !float.IsFinite(NoiseStd))
            throw new ArgumentException(FormattableString.Invariant($"Augmentation NoiseStd must be finite and ≥ 0, got {NoiseStd}."), nameof(NoiseStd));
    }

    /// <summary>Checks the settings (<see cref="Validate()"/>) against the shape of the scans they will augment: a crop or
    /// shift needs rank ≥ 2, and a crop must fit inside the last two axes.</summary>
    /// <param name="scanShape">The shape every scan shares.</param>
    /// <param name="scan">The scan the shape was read from, for the message.</param>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    /// <exception cref="ShapeMismatchException">The scans' shape cannot take the crop or shift.</exception>
    public void Validate(ReadOnlySpan<int> scanShape, string scan)
    {
        Validate();
        string shape = $"[{string.Join(", ", scanShape.ToArray())}]";
        if (IsSpatial && scanShape.Length < 2)
            throw new ShapeMismatchException($"Augmentation {(CropHeight > 0 ? $"crop {CropHeight}×{CropWidth}" : $"MaxShift = {MaxShift}")} acts on the last two axes, but scan '{scan}' has shape {shape} (rank {scanShape.Length}); turn it off for rank-1 scans.");
        if (CropHeight > 0 && (CropHeight > scanShape[^2] || CropWidth > scanShape[^1]))
            throw new ShapeMismatchException($"Augmentation crop {CropHeight}×{CropWidth} does not fit scan '{scan}' of shape {shape}.");
    }
}

/// <summary>
/// Seeded augmentations for clips (T, H, W) and volumes (D, H, W). Spatial transforms act on the last two axes and
/// use one random draw for the whole tensor (every frame of a clip gets the same crop and flip). Every method
/// returns a new tensor; the same generator state gives the same result.
/// </summary>
public static class Augment
{
    /// <summary>Crops the last two axes to <paramref name="height"/>×<paramref name="width"/> at a random offset.</summary>
    /// <param name="x">A tensor of rank ≥ 2.</param>
    /// <param name="height">Crop height (≤ input height).</param>
    /// <param name="width">Crop width (≤ input width).</param>
    /// <param name="rng">The generator.</param>
    /// <returns>The crop.</returns>
    public static Tensor RandomCrop(Tensor x, int height, int width, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rng);
        if (x.Rank < 2) throw new ShapeMismatchException($"RandomCrop needs rank ≥ 2, got shape [{string.Join(", ", x.ShapeArray)}].");
        int h = x.Dim(-2), w = x.Dim(-1);
        if (height < 1 || width < 1 || height > h || width > w)
            throw new ShapeMismatchException($"RandomCrop of {height}×{width} does not fit shape [{string.Join(", ", x.ShapeArray)}].");
        int top = rng.NextInt(h - height + 1), left = rng.NextInt(w - width + 1);
        return Crop(x, top, left, height, width);
    }

    /// <summary>Crops the last two axes at a fixed offset.</summary>
    /// <param name="x">A tensor of rank ≥ 2.</param>
    /// <param name="top">First row.</param>
    /// <param name="left">First column.</param>
    /// <param name="height">Crop height.</param>
    /// <param name="width">Crop width.</param>
    /// <returns>The crop.</returns>
    public static Tensor Crop(Tensor x, int top, int left, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2) throw new ShapeMismatchException($"Crop needs rank ≥ 2, got shape [{string.Join(", ", x.ShapeArray)}].");
        int h = x.Dim(-2), w = x.Dim(-1);
        if (top < 0 || left < 0 || height < 1 || width < 1 || top + height > h || left + width > w)
            throw new ShapeMismatchException($"Crop at ({top}, {left}) of {height}×{width} does not fit shape [{string.Join(", ", x.ShapeArray)}].");
        int batch = x.Size / (h * w);
        var output = new float[(long)batch * height * width];
        var src = x.Data;
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < height; r++)
                src.Slice(b * h * w + (top + r) * w + left, width).CopyTo(output.AsSpan((b * height + r) * width, width));
        var shape = x.ShapeArray;
        shape[^2] = height;
        shape[^1] = width;
        return new Tensor(output, shape);
    }

    /// <summary>Translates the last two axes by offsets uniform in ±<paramref name="maxShift"/> pixels (one draw per axis for
    /// the whole tensor, so every frame of a clip moves together); see <see cref="Shift"/>.</summary>
    /// <param name="x">A tensor of rank ≥ 2.</param>
    /// <param name="maxShift">Largest offset in pixels (≥ 0).</param>
    /// <param name="rng">The generator.</param>
    /// <returns>The shifted copy.</returns>
    public static Tensor RandomShift(Tensor x, int maxShift, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rng);
        if (maxShift is < 0 or > 1 << 20) throw new ArgumentOutOfRangeException(nameof(maxShift), maxShift, "The largest shift must be between 0 and 2^20 pixels.");
        int dy = rng.NextInt(2 * maxShift + 1) - maxShift, dx = rng.NextInt(2 * maxShift + 1) - maxShift;
        return Shift(x, dy, dx);
    }

    /// <summary>Translates the last two axes: output pixel (r, c) is input pixel (r − <paramref name="dy"/>,
    /// c − <paramref name="dx"/>), with coordinates outside the input clamped to its edge (the border repeats the
    /// nearest edge pixel, so no artificial black band appears). The shape is kept.</summary>
    /// <param name="x">A tensor of rank ≥ 2.</param>
    /// <param name="dy">Row offset (positive moves the content down).</param>
    /// <param name="dx">Column offset (positive moves the content right).</param>
    /// <returns>A new tensor.</returns>
    public static Tensor Shift(Tensor x, int dy, int dx)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2) throw new ShapeMismatchException($"Shift needs rank ≥ 2, got shape [{string.Join(", ", x.ShapeArray)}].");
        int h = x.Dim(-2), w = x.Dim(-1);
        var output = new float[x.Size];
        if (x.Size == 0) return new Tensor(output, x.ShapeArray);
        // Beyond ±size every offset gives the same edge-repeated image; clamping first keeps the arithmetic in range.
        dy = Math.Clamp(dy, -h, h);
        dx = Math.Clamp(dx, -w, w);
        int batch = x.Size / (h * w);
        var src = x.Data;
        // Output column c reads input column clamp(c − dx, 0, w − 1): a run of the left edge value up to lo, a contiguous
        // copy up to hi, a run of the right edge value (|dx| ≥ w leaves only one of the runs).
        int lo = Math.Clamp(dx, 0, w), hi = Math.Clamp(w + dx, 0, w);
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < h; r++)
            {
                var row = src.Slice(b * h * w + Math.Clamp(r - dy, 0, h - 1) * w, w);
                var dst = output.AsSpan((b * h + r) * w, w);
                if (hi > lo) row.Slice(lo - dx, hi - lo).CopyTo(dst.Slice(lo, hi - lo));
                dst[..lo].Fill(row[0]);
                dst[hi..].Fill(row[w - 1]);
            }
        return new Tensor(output, x.ShapeArray);
    }

    /// <summary>Mirrors the last axis with probability <paramref name="probability"/> (one draw for the whole tensor).</summary>
    /// <param name="x">The tensor.</param>
    /// <param name="rng">The generator.</param>
    /// <param name="probability">Flip probability in [0, 1].</param>
    /// <returns>The (possibly) flipped copy.</returns>
    public static Tensor RandomFlip(Tensor x, Rng rng, double probability = 0.5)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rng);
        if (!(probability >= 0 && probability <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "A probability must be in [0, 1].");
        bool flip = rng.NextDouble() < probability;
        return flip ? Flip(x) : new Tensor(x.ToArray(), x.ShapeArray);
    }

    /// <summary>Mirrors the last axis (left–right for frames <c>[…, H, W]</c>): the flip of <see cref="RandomFlip"/>,
    /// always applied.</summary>
    /// <param name="x">The tensor.</param>
    /// <returns>The flipped copy (a rank-0 or empty tensor is copied as it is).</returns>
    public static Tensor Flip(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var data = x.ToArray();
        if (x.Rank >= 1 && x.Size > 0)
        {
            int w = x.Dim(-1);
            for (int o = 0; o < data.Length; o += w) data.AsSpan(o, w).Reverse();
        }
        return new Tensor(data, x.ShapeArray);
    }

    /// <summary>Random brightness and contrast: <c>(x − mean)·c + mean + b</c> with c uniform in 1 ± <paramref name="maxContrast"/> and b uniform in ±<paramref name="maxBrightness"/>.</summary>
    /// <param name="x">The tensor.</param>
    /// <param name="rng">The generator.</param>
    /// <param name="maxBrightness">Largest additive shift (≥ 0).</param>
    /// <param name="maxContrast">Largest relative contrast change, in [0, 1).</param>
    /// <returns>The adjusted copy.</returns>
    public static Tensor BrightnessContrast(Tensor x, Rng rng, float maxBrightness, float maxContrast)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rng);
        if (!(maxBrightness >= 0) || !float.IsFinite(maxBrightness)) throw new ArgumentOutOfRangeException(nameof(maxBrightness), maxBrightness, "Must be finite and ≥ 0.");
        if (!(maxContrast >= 0 && maxContrast < 1)) throw new ArgumentOutOfRangeException(nameof(maxContrast), maxContrast, "Must be in [0, 1).");
        float c = 1f + maxContrast * (2f * rng.NextSingle() - 1f);
        float b = maxBrightness * (2f * rng.NextSingle() - 1f);
        var data = x.ToArray();
        if (data.Length > 0)
        {
            float mean = TensorPrimitives.Sum<float>(data) / data.Length;
            // (x - mean) * c + mean + b  =  x * c + (mean (1 - c) + b)
            TensorPrimitives.Multiply(data, c, data);
            TensorPrimitives.Add(data, mean * (1f - c) + b, data);
        }
        return new Tensor(data, x.ShapeArray);
    }

    /// <summary>Adds Gaussian noise of standard deviation <paramref name="std"/>.</summary>
    /// <param name="x">The tensor.</param>
    /// <param name="rng">The generator.</param>
    /// <param name="std">Noise standard deviation (≥ 0).</param>
    /// <returns>The noisy copy.</returns>
    public static Tensor GaussianNoise(Tensor x, Rng rng, float std)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rng);
        if (!(std >= 0) || !float.IsFinite(std)) throw new ArgumentOutOfRangeException(nameof(std), std, "Must be finite and ≥ 0.");
        var data = x.ToArray();
        if (std > 0)
        {
            var noise = new float[data.Length];
            rng.FillNormal(noise, 0f, std);
            TensorPrimitives.Add(data, noise, data);
        }
        return new Tensor(data, x.ShapeArray);
    }

    /// <summary>Applies crop, shift, flip, brightness/contrast and noise, in that order, as configured.</summary>
    /// <param name="x">The clip or volume.</param>
    /// <param name="rng">The generator.</param>
    /// <param name="options">The settings.</param>
    /// <returns>The augmented copy.</returns>
    public static Tensor Apply(Tensor x, Rng rng, AugmentationOptions options) => Apply(x, rng, rng, options);

    /// <summary>As <see cref="Apply(Tensor, Rng, AugmentationOptions)"/>, with the crop, shift, flip, brightness and
    /// contrast drawn from <paramref name="shared"/> and the noise from <paramref name="own"/> (the same generator for
    /// both gives exactly that overload's result).</summary>
    /// <param name="x">The clip or volume.</param>
    /// <param name="shared">The generator of the geometric and intensity draws.</param>
    /// <param name="own">The generator of the noise.</param>
    /// <param name="options">The settings.</param>
    /// <returns>The augmented copy.</returns>
    public static Tensor Apply(Tensor x, Rng shared, Rng own, AugmentationOptions options)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(shared);
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(options);
        var y = options.CropHeight > 0 && options.CropWidth > 0 ? RandomCrop(x, options.CropHeight, options.CropWidth, shared) : x;
        if (options.MaxShift != 0) y = RandomShift(y, options.MaxShift, shared); // a negative one is refused there
        if (options.FlipProbability > 0) y = RandomFlip(y, shared, options.FlipProbability);
        if (options.MaxBrightness > 0 || options.MaxContrast > 0) y = BrightnessContrast(y, shared, options.MaxBrightness, options.MaxContrast);
        if (options.NoiseStd > 0) y = GaussianNoise(y, own, options.NoiseStd);
        return ReferenceEquals(y, x) ? new Tensor(x.ToArray(), x.ShapeArray) : y;
    }

    /// <summary>Stream of the per-patient draws of <see cref="AugmentationOptions.SharedWithinPatient"/>, apart from the
    /// per-copy streams (which are the copy indices, far below it).</summary>
    private const ulong SharedStream = 0x5EED_0000_0000_0000;

    /// <summary>Augments copy <paramref name="copy"/> (view v = copy / B, scan k = copy mod B) of a batch of B =
    /// <paramref name="scans"/>.Length scans with one step's generator: each copy from the step's stream forked by the
    /// copy index or, with <see cref="AugmentationOptions.SharedWithinPatient"/>, its geometric and intensity draws from
    /// the stream of its view and patient (so a patient's scans in the batch share them) and its noise as before.</summary>
    internal static Tensor ApplyToCopy(Tensor x, Rng stepRng, int copy, ReadOnlySpan<int> scans, LongitudinalDataset dataset, AugmentationOptions options)
    {
        var own = stepRng.Fork((ulong)copy);
        if (!options.SharedWithinPatient) return Apply(x, own, options);
        int b = scans.Length, view = copy / b, patient = dataset.Scans[scans[copy % b]].PatientIndex;
        var shared = stepRng.Fork(SharedStream | ((ulong)view << 32) | (uint)patient);
        return Apply(x, shared, own, options);
    }
}
