using System.Globalization;

namespace Learner.Data;

/// <summary>
/// The per-scan intensity normalisation an encoder is pretrained with, and so the one every scan it embeds must get:
/// <see cref="Preprocess.NormalizeIntensities"/> with <see cref="Method"/> on payloads of rank ≥ <see cref="MinimumRank"/>
/// (per-scan statistics only: nothing crosses scans or patients).
/// </summary>
/// <remarks>One default everywhere (<see cref="Default"/>: z-score of clips and volumes, feature vectors unchanged) —
/// the pretrainer, <c>PretrainerFactory</c>, the experiment and the command line. The pretrainer records it in every
/// checkpoint's metadata (<see cref="MetadataKey"/>, written by <see cref="ToString"/> and read back by
/// <see cref="Parse"/>), so embedding and evaluation apply what the encoder was trained with.</remarks>
/// <param name="Method">The normalisation.</param>
/// <param name="MinimumRank">Payloads of lower rank are left unchanged (2: clips and volumes only; ≥ 0).</param>
public sealed record ScanNormalization(IntensityNormalization Method, int MinimumRank = 2)
{
    /// <summary>The checkpoint metadata entry that records the normalisation.</summary>
    public const string MetadataKey = "pretrain.input_normalization";

    /// <summary>Z-score per clip or volume (rank ≥ 2), feature vectors unchanged: the default everywhere.</summary>
    public static ScanNormalization Default { get; } = new(IntensityNormalization.ZScore);

    /// <summary>No normalisation: payloads as stored.</summary>
    public static ScanNormalization Unchanged { get; } = new(IntensityNormalization.None);

    /// <summary>Throws <see cref="ArgumentException"/> when the method is unknown or the rank negative.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Method)) throw new ArgumentException($"ScanNormalization.Method {(int)Method} is not an IntensityNormalization.", nameof(Method));
        if (MinimumRank < 0) throw new ArgumentException($"ScanNormalization.MinimumRank must be ≥ 0, got {MinimumRank}.", nameof(MinimumRank));
    }

    /// <summary>The dataset normalised this way (<see cref="Preprocess.NormalizeIntensities"/>).</summary>
    /// <param name="dataset">The dataset as stored.</param>
    /// <returns>The normalised dataset (its <see cref="LongitudinalDataset.Normalization"/> is this).</returns>
    public LongitudinalDataset Apply(LongitudinalDataset dataset) => Preprocess.NormalizeIntensities(dataset, Method, MinimumRank);

    /// <summary>The method's name on the command line and in checkpoints: none, zscore, minmax, percentile-clip.</summary>
    public string MethodName => NameOf(Method);

    /// <summary>The name of <paramref name="method"/> (see <see cref="MethodName"/>).</summary>
    /// <param name="method">The method.</param>
    /// <returns>The name.</returns>
    public static string NameOf(IntensityNormalization method) => method switch
    {
        IntensityNormalization.None => "none",
        IntensityNormalization.ZScore => "zscore",
        IntensityNormalization.MinMax => "minmax",
        IntensityNormalization.PercentileClip => "percentile-clip",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown normalisation."),
    };

    /// <summary>The method named <paramref name="name"/> (see <see cref="MethodName"/>), or null for an unknown name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The method, or null.</returns>
    public static IntensityNormalization? ParseMethod(string name) =>
        Enum.GetValues<IntensityNormalization>().Cast<IntensityNormalization?>().FirstOrDefault(m => NameOf(m!.Value) == name);

    /// <summary>The recorded form, <c>method:minimumRank</c> (e.g. <c>zscore:2</c>).</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{MethodName}:{MinimumRank}");

    /// <summary>Reads what <see cref="ToString"/> wrote.</summary>
    /// <param name="text">The recorded form.</param>
    /// <returns>The normalisation.</returns>
    /// <exception cref="FormatException">The text is not of that form.</exception>
    public static ScanNormalization Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.LastIndexOf(':');
        if (colon > 0 && ParseMethod(text[..colon]) is { } method
            && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int rank))
            return new ScanNormalization(method, rank);
        throw new FormatException($"'{text}' is not a recorded scan normalisation (method:minimumRank, method one of none, zscore, minmax, percentile-clip).");
    }
}
