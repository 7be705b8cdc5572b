using System.Globalization;

namespace Learner.Data;

/// <summary>Three-way change of a patient's health between two visits. The values are ordinal (worse &lt; stable &lt; better).</summary>
public enum ChangeLabel
{
    /// <summary>Health decreased by at least the worsening threshold.</summary>
    Worsened = 0,

    /// <summary>Health changed by less than either threshold.</summary>
    Stable = 1,

    /// <summary>Health increased by at least the improvement threshold.</summary>
    Improved = 2,
}

/// <summary>How change thresholds are measured.</summary>
public enum ThresholdMode
{
    /// <summary>In score units: the change is <c>after − before</c>.</summary>
    Absolute,

    /// <summary>As a fraction of the earlier score: the change is <c>(after − before) / |before|</c>.</summary>
    Relative,
}

/// <summary>
/// Thresholds that turn a score change between two visits into a <see cref="ChangeLabel"/>, respecting the
/// health-score direction: with higher-is-healthier scores (S/F, MMSE) a rise is an improvement; otherwise a fall is.
/// </summary>
/// <remarks>
/// With the health change <c>h = ±(after − before)</c> (or its relative form), signed so that positive means
/// healthier: <c>h ≥ Improvement</c> is <see cref="ChangeLabel.Improved"/>, <c>h ≤ −Worsening</c> is
/// <see cref="ChangeLabel.Worsened"/>, anything between is <see cref="ChangeLabel.Stable"/>.
/// </remarks>
public sealed record ChangeThresholds
{
    /// <summary>Creates thresholds.</summary>
    /// <param name="improvement">Smallest health gain labelled improved; positive and finite.</param>
    /// <param name="worsening">Smallest health loss labelled worsened; positive and finite.</param>
    /// <param name="mode">Absolute score units or a fraction of the earlier score.</param>
    /// <exception cref="ArgumentOutOfRangeException">A threshold is not positive and finite.</exception>
    public ChangeThresholds(double improvement, double worsening, ThresholdMode mode = ThresholdMode.Absolute)
    {
        if (!(improvement > 0) || !double.IsFinite(improvement))
            throw new ArgumentOutOfRangeException(nameof(improvement), improvement, "The improvement threshold must be positive and finite.");
        if (!(worsening > 0) || !double.IsFinite(worsening))
            throw new ArgumentOutOfRangeException(nameof(worsening), worsening, "The worsening threshold must be positive and finite.");
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown threshold mode.");
        Improvement = improvement;
        Worsening = worsening;
        Mode = mode;
    }

    /// <summary>Smallest health gain labelled improved.</summary>
    public double Improvement { get; }

    /// <summary>Smallest health loss labelled worsened.</summary>
    public double Worsening { get; }

    /// <summary>How the thresholds are measured.</summary>
    public ThresholdMode Mode { get; }

    /// <summary>Symmetric absolute thresholds (score units).</summary>
    /// <param name="threshold">The threshold for both directions.</param>
    /// <returns>The thresholds.</returns>
    public static ChangeThresholds Absolute(double threshold) => new(threshold, threshold, ThresholdMode.Absolute);

    /// <summary>Symmetric relative thresholds (fraction of the earlier score).</summary>
    /// <param name="fraction">The fraction for both directions, e.g. 0.1 for 10 %.</param>
    /// <returns>The thresholds.</returns>
    public static ChangeThresholds Relative(double fraction) => new(fraction, fraction, ThresholdMode.Relative);

    /// <summary>The signed health change (positive = healthier) from <paramref name="before"/> to <paramref name="after"/>.</summary>
    /// <param name="before">Earlier score.</param>
    /// <param name="after">Later score.</param>
    /// <param name="higherIsHealthier">The score direction.</param>
    /// <returns>The change in the thresholds' units.</returns>
    /// <exception cref="ArgumentException">A score is not finite.</exception>
    public double HealthChange(double before, double after, bool higherIsHealthier)
    {
        if (!double.IsFinite(before) || !double.IsFinite(after))
            throw new ArgumentException($"Scores must be finite to label a change (before {before.ToString(CultureInfo.InvariantCulture)}, after {after.ToString(CultureInfo.InvariantCulture)}).");
        double d = after - before;
        if (Mode == ThresholdMode.Relative)
            d = d == 0 ? 0 : d / Math.Abs(before); // before = 0 with a change gives ±∞: a change from nothing is always beyond the threshold
        return higherIsHealthier ? d : -d;
    }

    /// <summary>The signed health change (positive = healthier) between two scans, from their
    /// <see cref="Scan.ChangeScore"/> (exact score, else score) — never from a coarse pretraining score that an exact
    /// score overrides.</summary>
    /// <param name="before">Earlier scan.</param>
    /// <param name="after">Later scan.</param>
    /// <param name="higherIsHealthier">The score direction.</param>
    /// <returns>The change in the thresholds' units.</returns>
    /// <exception cref="MissingScoreException">A scan has no finite change score (the message names it).</exception>
    public double HealthChange(Scan before, Scan after, bool higherIsHealthier)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return HealthChange(before.RequireChangeScore(ChangePurpose), after.RequireChangeScore(ChangePurpose), higherIsHealthier);
    }

    /// <summary>Labels the change between two scans from their <see cref="Scan.ChangeScore"/> (exact score, else score).</summary>
    /// <param name="before">Earlier scan.</param>
    /// <param name="after">Later scan.</param>
    /// <param name="higherIsHealthier">The score direction.</param>
    /// <returns>The change label.</returns>
    /// <exception cref="MissingScoreException">A scan has no finite change score (the message names it).</exception>
    public ChangeLabel Classify(Scan before, Scan after, bool higherIsHealthier)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return Classify(before.RequireChangeScore(ChangePurpose), after.RequireChangeScore(ChangePurpose), higherIsHealthier);
    }

    private const string ChangePurpose = "labelling intra-patient change";

    /// <summary>Labels the change from <paramref name="before"/> to <paramref name="after"/>.</summary>
    /// <param name="before">Earlier score.</param>
    /// <param name="after">Later score.</param>
    /// <param name="higherIsHealthier">The score direction.</param>
    /// <returns>The change label.</returns>
    public ChangeLabel Classify(double before, double after, bool higherIsHealthier)
    {
        double h = HealthChange(before, after, higherIsHealthier);
        if (h >= Improvement) return ChangeLabel.Improved;
        if (h <= -Worsening) return ChangeLabel.Worsened;
        return ChangeLabel.Stable;
    }
}

/// <summary>
/// Bins continuous health scores into coarse ordinal labels ordered by health: label 0 is the least healthy bin
/// whatever the score direction. A score equal to an edge falls in the bin above the edge (in score order).
/// </summary>
public sealed class ScoreBinning
{
    private readonly double[] _edges;

    /// <summary>Creates a binning from explicit, strictly increasing edges.</summary>
    /// <param name="edges">Bin edges in score units (k edges give k + 1 bins).</param>
    /// <param name="higherIsHealthier">The score direction; label 0 is the least healthy bin.</param>
    /// <exception cref="ArgumentException">The edges are empty, non-finite or not strictly increasing.</exception>
    public ScoreBinning(IEnumerable<double> edges, bool higherIsHealthier)
    {
        ArgumentNullException.ThrowIfNull(edges);
        _edges = edges.ToArray();
        if (_edges.Length == 0) throw new ArgumentException("A binning needs at least one edge.", nameof(edges));
        for (int i = 0; i < _edges.Length; i++)
        {
            if (!double.IsFinite(_edges[i])) throw new ArgumentException($"Bin edge {i} is not finite ({_edges[i].ToString(CultureInfo.InvariantCulture)}).", nameof(edges));
            if (i > 0 && !(_edges[i] > _edges[i - 1]))
                throw new ArgumentException($"Bin edges must be strictly increasing; edge {i} ({_edges[i].ToString(CultureInfo.InvariantCulture)}) does not exceed edge {i - 1} ({_edges[i - 1].ToString(CultureInfo.InvariantCulture)}).", nameof(edges));
        }
        HigherIsHealthier = higherIsHealthier;
    }

    /// <summary>The edges, increasing.</summary>
    public IReadOnlyList<double> Edges => _edges;

    /// <summary>Number of bins (edges + 1).</summary>
    public int BinCount => _edges.Length + 1;

    /// <summary>The score direction.</summary>
    public bool HigherIsHealthier { get; }

    /// <summary>The coarse label of <paramref name="score"/> (0 = least healthy).</summary>
    /// <param name="score">A finite score.</param>
    /// <returns>The label in [0, <see cref="BinCount"/>).</returns>
    /// <exception cref="ArgumentException">The score is not finite.</exception>
    public int Assign(double score)
    {
        if (!double.IsFinite(score)) throw new ArgumentException($"Cannot bin the non-finite score {score.ToString(CultureInfo.InvariantCulture)}.", nameof(score));
        int lo = 0, hi = _edges.Length; // number of edges <= score
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_edges[mid] <= score) lo = mid + 1; else hi = mid;
        }
        return HigherIsHealthier ? lo : _edges.Length - lo;
    }

    /// <summary>The mean of the scores that fall in each bin, indexed by label: the least-squares coarse value of a bin
    /// (see <see cref="LongitudinalDataset.WithCoarseScores(ScoreBinning)"/>). A bin no score falls in gets NaN.</summary>
    /// <param name="scores">The scores (all finite).</param>
    /// <returns>A new array of length <see cref="BinCount"/>.</returns>
    /// <exception cref="ArgumentException">A score is not finite (the message names its position and value).</exception>
    public double[] BinMeans(IEnumerable<double> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var sum = new double[BinCount];
        var count = new int[BinCount];
        int i = 0;
        foreach (double v in scores)
        {
            if (!double.IsFinite(v)) throw new ArgumentException($"Score {i} is not finite ({v.ToString(CultureInfo.InvariantCulture)}); bin means need finite scores.", nameof(scores));
            int b = Assign(v);
            sum[b] += v;
            count[b]++;
            i++;
        }
        var mean = new double[BinCount];
        for (int b = 0; b < mean.Length; b++) mean[b] = count[b] == 0 ? double.NaN : sum[b] / count[b];
        return mean;
    }

    /// <summary>
    /// A binning at the quantiles k/<paramref name="binCount"/> (k = 1 … binCount − 1) of <paramref name="scores"/>,
    /// computed with linear interpolation (numpy's default). Repeated quantiles are merged, so the result may have
    /// fewer bins than asked when many scores tie.
    /// </summary>
    /// <param name="scores">The scores (all finite).</param>
    /// <param name="binCount">Bins wanted; at least 2.</param>
    /// <param name="higherIsHealthier">The score direction.</param>
    /// <returns>The binning.</returns>
    /// <exception cref="ArgumentException">Fewer than two scores, a non-finite score, or all scores equal.</exception>
    public static ScoreBinning FromQuantiles(IEnumerable<double> scores, int binCount, bool higherIsHealthier)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (binCount < 2) throw new ArgumentOutOfRangeException(nameof(binCount), binCount, "Quantile binning needs at least 2 bins.");
        var s = scores.ToArray();
        if (s.Length < 2) throw new ArgumentException($"Quantile binning needs at least 2 scores, got {s.Length}.", nameof(scores));
        for (int i = 0; i < s.Length; i++)
            if (!double.IsFinite(s[i])) throw new ArgumentException($"Score {i} is not finite ({s[i].ToString(CultureInfo.InvariantCulture)}).", nameof(scores));
        Array.Sort(s);
        var edges = new List<double>();
        for (int k = 1; k < binCount; k++)
        {
            double q = Quantile(s, (double)k / binCount);
            if (edges.Count == 0 || q > edges[^1]) edges.Add(q);
        }
        // An edge equal to the minimum would leave the lowest bin empty; drop it.
        if (edges.Count > 0 && edges[0] <= s[0]) edges.RemoveAt(0);
        if (edges.Count == 0)
            throw new ArgumentException($"All {s.Length} scores equal {s[0].ToString(CultureInfo.InvariantCulture)}; quantile bins cannot separate them.", nameof(scores));
        return new ScoreBinning(edges, higherIsHealthier);
    }

    /// <summary>The <paramref name="q"/>-quantile of sorted values with linear interpolation (numpy's default method).</summary>
    internal static double Quantile(ReadOnlySpan<double> sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int i = (int)Math.Floor(pos);
        if (i >= sorted.Length - 1) return sorted[^1];
        double f = pos - i;
        return sorted[i] + f * (sorted[i + 1] - sorted[i]);
    }
}
