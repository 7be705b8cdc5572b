using Learner.Nn;

namespace Learner.Data.Synthetic;

/// <summary>
/// Parameters of <see cref="SyntheticLusCohort"/>. Defaults: 200 patients × 3 daily visits × 4 clips of 8 frames of
/// 32 × 32 pixels — small enough to train on two CPU cores.
/// </summary>
public sealed record SyntheticLusOptions
{
    /// <summary>Number of patients. Default 200.</summary>
    public int Patients { get; init; } = 200;

    /// <summary>Visits per patient (one per <see cref="DaysBetweenVisits"/>). Default 3.</summary>
    public int VisitsPerPatient { get; init; } = 3;

    /// <summary>Clips acquired per visit (same score, different probe placement, speckle and noise). Default 4.</summary>
    public int ClipsPerVisit { get; init; } = 4;

    /// <summary>Frames per clip (T). Default 8.</summary>
    public int Frames { get; init; } = 8;

    /// <summary>Clip height in pixels (H, depth direction). Default 32.</summary>
    public int Height { get; init; } = 32;

    /// <summary>Clip width in pixels (W, lateral direction). Default 32.</summary>
    public int Width { get; init; } = 32;

    /// <summary>Days between visits (the scan time unit is days). Default 1.</summary>
    public double DaysBetweenVisits { get; init; } = 1.0;

    /// <summary>Standard deviation, across patients, of the daily change of latent health (0 = severe … 1 = healthy;
    /// the S/F score is 100 + 400 · health). Default 0.06, i.e. about 24 S/F points per day.</summary>
    public double DailyChangeStd { get; init; } = 0.06;

    /// <summary>Standard deviation of visit-to-visit fluctuation of latent health around the trend. Default 0.02 (8 S/F points).</summary>
    public double VisitNoiseStd { get; init; } = 0.02;

    /// <summary>Maximum number of B-line-like artefacts (reached at the most severe health); each line fades in continuously
    /// as severity grows, so small score changes give small image changes. Default 6.</summary>
    public double MaxBLines { get; init; } = 6;

    /// <summary>Between-patient spread of the overall gain (log-normal σ). Default 0.35 (about ±35 % brightness).</summary>
    public double GainSpread { get; init; } = 0.35;

    /// <summary>Largest probe tilt in degrees (pleural line slope and B-line slant, per patient). Default 15.</summary>
    public double MaxProbeAngleDegrees { get; init; } = 15;

    /// <summary>Strength of the per-patient multiplicative speckle texture (fixed across that patient's visits). Default 0.45.</summary>
    public double SpeckleContrast { get; init; } = 0.45;

    /// <summary>Standard deviation of additive per-pixel noise. Default 0.05.</summary>
    public double NoiseStd { get; init; } = 0.05;

    /// <summary>S/F edges of the coarse labels (label 0 = lowest S/F = least healthy). Default 200, 300, 400 (four labels).</summary>
    public IReadOnlyList<double> CoarseEdges { get; init; } = new[] { 200.0, 300.0, 400.0 };

    /// <summary>Absolute S/F change that counts as improved/worsened in <see cref="SyntheticLusCohort.ChangeThresholds"/>. Default 20.</summary>
    public double ChangeThreshold { get; init; } = 20;

    /// <summary>The seed: the same seed gives the same cohort, scores and pixels on every machine. Default 0.</summary>
    public ulong Seed { get; init; }

    internal void Validate()
    {
        static void Pos(int v, string n) { if (v < 1) throw new ArgumentOutOfRangeException(n, v, $"{n} must be positive."); }
        static void NonNeg(double v, string n) { if (!(v >= 0) || !double.IsFinite(v)) throw new ArgumentOutOfRangeException(n, v, $"{n} must be finite and ≥ 0."); }
        Pos(Patients, nameof(Patients)); Pos(VisitsPerPatient, nameof(VisitsPerPatient)); Pos(ClipsPerVisit, nameof(ClipsPerVisit));
        Pos(Frames, nameof(Frames));
        if (Height < 8) throw new ArgumentOutOfRangeException(nameof(Height), Height, "Height must be at least 8 pixels.");
        if (Width < 8) throw new ArgumentOutOfRangeException(nameof(Width), Width, "Width must be at least 8 pixels.");
        if (!(DaysBetweenVisits > 0) || !double.IsFinite(DaysBetweenVisits)) throw new ArgumentOutOfRangeException(nameof(DaysBetweenVisits), DaysBetweenVisits, "Must be finite and positive.");
        NonNeg(DailyChangeStd, nameof(DailyChangeStd)); NonNeg(VisitNoiseStd, nameof(VisitNoiseStd)); NonNeg(MaxBLines, nameof(MaxBLines));
        NonNeg(GainSpread, nameof(GainSpread)); NonNeg(MaxProbeAngleDegrees, nameof(MaxProbeAngleDegrees)); NonNeg(SpeckleContrast, nameof(SpeckleContrast));
        NonNeg(NoiseStd, nameof(NoiseStd));
        if (MaxProbeAngleDegrees >= 60) throw new ArgumentOutOfRangeException(nameof(MaxProbeAngleDegrees), MaxProbeAngleDegrees, "Must be below 60 degrees.");
        if (!(ChangeThreshold > 0)) throw new ArgumentOutOfRangeException(nameof(ChangeThreshold), ChangeThreshold, "Must be positive.");
        ArgumentNullException.ThrowIfNull(CoarseEdges);
    }
}

/// <summary>
/// A synthetic lung-ultrasound cohort, in the spirit of scikit-learn's dataset generators but longitudinal. Each patient
/// has a latent health trajectory over a few days and an S/F-like score (100 + 400 · health, higher is healthier, about
/// 100–500). Each scan is a clip (T, H, W) in which the number and brightness of vertical B-line-like artefacts, the
/// thickness and irregularity of a bright pleural-line-like band and the fading of horizontal A-line reverberations follow
/// the score — under strong per-patient nuisance (overall gain, pleural depth, probe tilt, a fixed speckle texture,
/// soft-tissue brightness and attenuation) and per-clip nuisance (probe shift, lung-sliding sway, noise). Differences
/// between patients therefore dominate the small day-to-day change within a patient: the setting LEARNER is for.
/// </summary>
/// <remarks>Generation is deterministic by <see cref="SyntheticLusOptions.Seed"/>. Scores and labels are computed at once;
/// clips are rendered lazily, each from its own seed, when a scan's payload is loaded (about 0.1–0.3 ms per default clip).</remarks>
public sealed class SyntheticLusCohort
{
    private readonly double[] _health; // [patient, visit]

    /// <summary>Builds the cohort (scores, labels, lazy clips).</summary>
    /// <param name="options">Parameters; null for defaults.</param>
    public SyntheticLusCohort(SyntheticLusOptions? options = null)
    {
        Options = options ?? new SyntheticLusOptions();
        Options.Validate();
        Binning = new ScoreBinning(Options.CoarseEdges, higherIsHealthier: true);
        ChangeThresholds = ChangeThresholds.Absolute(Options.ChangeThreshold);
        int P = Options.Patients, V = Options.VisitsPerPatient, C = Options.ClipsPerVisit;
        _health = new double[P * V];
        var scans = new List<Scan>(P * V * C);
        for (int p = 0; p < P; p++)
        {
            var rng = new Rng(SyntheticSeeds.Derive(Options.Seed, 0, (ulong)p));
            double h0 = 0.05 + 0.9 * rng.NextDouble();
            double slope = Options.DailyChangeStd * rng.NextGaussian();
            for (int v = 0; v < V; v++)
            {
                double day = v * Options.DaysBetweenVisits;
                double h = Math.Clamp(h0 + slope * day + Options.VisitNoiseStd * rng.NextGaussian(), 0.0, 1.0);
                _health[p * V + v] = h;
                double score = Math.Round(100 + 400 * h, 1);
                int label = Binning.Assign(score);
                for (int c = 0; c < C; c++)
                {
                    int pp = p, vv = v, cc = c;
                    string id = $"LUS-P{p:D4}-V{v}-C{c}";
                    scans.Add(new Scan(id, $"LUS-P{p:D4}", day, score, label, new DelegatePayload(() => RenderClip(pp, vv, cc), $"synthetic LUS clip {id} (seed {Options.Seed})")));
                }
            }
        }
        Dataset = new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    /// <summary>The parameters.</summary>
    public SyntheticLusOptions Options { get; }

    /// <summary>The cohort: scans grouped by patient, scores (S/F, higher is healthier), coarse labels, lazy clips.</summary>
    public LongitudinalDataset Dataset { get; }

    /// <summary>The binning that produced the coarse labels.</summary>
    public ScoreBinning Binning { get; }

    /// <summary>Suggested change thresholds (absolute S/F <see cref="SyntheticLusOptions.ChangeThreshold"/>).</summary>
    public ChangeThresholds ChangeThresholds { get; }

    /// <summary>Generates a cohort with the given options.</summary>
    /// <param name="options">Parameters; null for defaults.</param>
    /// <returns>The dataset.</returns>
    public static LongitudinalDataset Generate(SyntheticLusOptions? options = null) => new SyntheticLusCohort(options).Dataset;

    /// <summary>The latent health (0 = severe, 1 = healthy) of a patient at a visit.</summary>
    /// <param name="patient">Patient number.</param>
    /// <param name="visit">Visit number.</param>
    /// <returns>The latent health.</returns>
    public double LatentHealth(int patient, int visit) => _health[CheckIndex(patient, visit, 0)];

    private int CheckIndex(int patient, int visit, int clip)
    {
        if ((uint)patient >= (uint)Options.Patients) throw new ArgumentOutOfRangeException(nameof(patient), patient, $"Patients are numbered 0..{Options.Patients - 1}.");
        if ((uint)visit >= (uint)Options.VisitsPerPatient) throw new ArgumentOutOfRangeException(nameof(visit), visit, $"Visits are numbered 0..{Options.VisitsPerPatient - 1}.");
        if ((uint)clip >= (uint)Options.ClipsPerVisit) throw new ArgumentOutOfRangeException(nameof(clip), clip, $"Clips are numbered 0..{Options.ClipsPerVisit - 1}.");
        return patient * Options.VisitsPerPatient + visit;
    }

    /// <summary>Renders one clip (T, H, W). Deterministic: the same arguments give the same pixels.</summary>
    /// <param name="patient">Patient number.</param>
    /// <param name="visit">Visit number.</param>
    /// <param name="clip">Clip number within the visit.</param>
    /// <returns>A new tensor.</returns>
    public Tensor RenderClip(int patient, int visit, int clip)
    {
        double health = _health[CheckIndex(patient, visit, clip)];
        var o = Options;
        int T = o.Frames, H = o.Height, W = o.Width;
        float sev = (float)(1 - health);

        // Per-patient anatomy and acquisition (identical at every visit).
        var pr = new Rng(SyntheticSeeds.Derive(o.Seed, 1, (ulong)patient));
        float gain = (float)Math.Exp(o.GainSpread * pr.NextGaussian());
        float depth = H * (0.18f + 0.22f * pr.NextSingle());
        float tilt = (float)Math.Tan((2 * pr.NextDouble() - 1) * o.MaxProbeAngleDegrees * Math.PI / 180);
        float tissue = 0.25f + 0.3f * pr.NextSingle();
        float atten = (1.0f + 2.0f * pr.NextSingle()) / H;
        float pleuraBright = 0.9f + 0.4f * pr.NextSingle();
        float thickBase = 0.8f + 0.5f * pr.NextSingle();
        float lineWidth = 0.9f + 0.6f * pr.NextSingle();
        Span<float> jf = stackalloc float[3];
        Span<float> jp = stackalloc float[3];
        for (int k = 0; k < 3; k++) { jf[k] = (float)(2 * Math.PI * (k + 1 + pr.NextDouble()) / W); jp[k] = (float)(2 * Math.PI * pr.NextDouble()); }
        float fragFreq = (float)(2 * Math.PI * (2 + 3 * pr.NextDouble()) / W), fragPhase = (float)(2 * Math.PI * pr.NextDouble());
        int maxLines = Math.Max(1, (int)Math.Ceiling(o.MaxBLines));
        Span<float> lineX = stackalloc float[maxLines];
        for (int i = 0; i < maxLines; i++) lineX[i] = W * (0.12f + 0.76f * pr.NextSingle());
        var speckle = new float[H * W];
        SyntheticSeeds.SmoothField(pr, speckle, H, W);
        float sc = (float)o.SpeckleContrast;
        for (int i = 0; i < speckle.Length; i++) speckle[i] = MathF.Exp(sc * speckle[i] - 0.5f * sc * sc);

        // Per-clip acquisition.
        ulong scanKey = (ulong)((patient * (long)o.VisitsPerPatient + visit) * o.ClipsPerVisit + clip);
        var cr = new Rng(SyntheticSeeds.Derive(o.Seed, 2, scanKey));
        float shiftX = 2.5f * (2 * cr.NextSingle() - 1), shiftY = 1.2f * (2 * cr.NextSingle() - 1);
        float swayAmp = 0.4f + 0.8f * cr.NextSingle(), swayPhase = (float)(2 * Math.PI * cr.NextDouble());
        float clipGain = 1 + 0.05f * (float)cr.NextGaussian();

        float jitterAmp = 0.3f + 2.5f * sev;
        float thick = thickBase * (1 + 1.5f * sev);
        float pleuraAmp = pleuraBright * (1 - 0.35f * sev);
        float aLineAmp = 0.45f * (1 - sev) * (1 - sev);
        float bLineAmp = 0.35f + 0.55f * sev;
        float bCount = (float)(sev * o.MaxBLines);
        float noise = (float)o.NoiseStd;

        var data = new float[T * H * W];
        Span<float> pleuraY = stackalloc float[W];
        Span<float> frag = stackalloc float[W];
        for (int x = 0; x < W; x++)
        {
            float xs = x - shiftX;
            float j = 0;
            for (int k = 0; k < 3; k++) j += MathF.Sin(jf[k] * xs + jp[k]) / (k + 1);
            pleuraY[x] = depth + shiftY + tilt * (x - 0.5f * W) + jitterAmp * 0.6f * j;
            frag[x] = 1 - 0.6f * sev * (0.5f + 0.5f * MathF.Sin(fragFreq * xs + fragPhase));
        }
        for (int t = 0; t < T; t++)
        {
            float sway = swayAmp * MathF.Sin(2 * MathF.PI * t / Math.Max(T, 2) + swayPhase);
            var frame = data.AsSpan(t * H * W, H * W);
            for (int y = 0; y < H; y++)
            {
                var row = frame.Slice(y * W, W);
                for (int x = 0; x < W; x++)
                {
                    float py = pleuraY[x];
                    float dy = y - py;
                    float v = 0;
                    if (dy < 0) v += tissue * MathF.Exp(-atten * y) * (1 - MathF.Exp(dy / 1.5f) * 0.5f);
                    float z = dy / thick;
                    v += pleuraAmp * frag[x] * MathF.Exp(-z * z);
                    if (dy > 0)
                    {
                        v += 0.06f;
                        for (int m = 1; m <= 2; m++)
                        {
                            float za = (dy - m * py) / 1.4f;
                            v += aLineAmp / m * MathF.Exp(-za * za);
                        }
                        float reach = 1 - MathF.Exp(-dy / 2f);
                        for (int i = 0; i < maxLines; i++)
                        {
                            float wgt = Math.Clamp(bCount - i, 0f, 1f);
                            if (wgt <= 0) break;
                            float xc = lineX[i] + shiftX + sway + tilt * dy;
                            float zb = (x - xc) / lineWidth;
                            if (zb is > 4f or < -4f) continue;
                            v += wgt * bLineAmp * reach * MathF.Exp(-zb * zb);
                        }
                    }
                    row[x] = v;
                }
            }
            // Gain, the patient's speckle texture with a little per-frame flicker, and noise.
            for (int i = 0; i < frame.Length; i++)
            {
                float flick = 1 + 0.1f * (float)cr.NextGaussian();
                frame[i] = gain * clipGain * frame[i] * speckle[i] * flick + noise * (float)cr.NextGaussian();
            }
        }
        return new Tensor(data, T, H, W);
    }
}
