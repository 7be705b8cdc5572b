using Learner.Nn;

namespace Learner.Data.Synthetic;

/// <summary>Parameters of <see cref="SyntheticMriCohort"/>. Defaults: 200 patients × 3 visits six months apart, one
/// 32³ volume per visit.</summary>
public sealed record SyntheticMriOptions
{
    /// <summary>Number of patients. Default 200.</summary>
    public int Patients { get; init; } = 200;

    /// <summary>Visits per patient. Default 3.</summary>
    public int VisitsPerPatient { get; init; } = 3;

    /// <summary>Volumes acquired per visit (same score, different head position and noise). Default 1.</summary>
    public int ScansPerVisit { get; init; } = 1;

    /// <summary>Edge length of the cubic volume (D = H = W). Default 32.</summary>
    public int Size { get; init; } = 32;

    /// <summary>Months between visits (the scan time unit is months). Default 6.</summary>
    public double MonthsBetweenVisits { get; init; } = 6;

    /// <summary>Mean yearly change of latent cognition across patients (0 = severe … 1 = healthy; the MMSE-like score is
    /// 10 + 20 · cognition). Default −0.05 (a slow average decline of one MMSE point a year).</summary>
    public double MeanYearlyChange { get; init; } = -0.05;

    /// <summary>Between-patient standard deviation of the yearly change of latent cognition (some patients respond to
    /// treatment and improve, others decline fast). Default 0.3, which with the defaults gives about 30 % worsened,
    /// 50 % stable and 20 % improved six-month pairs at the ±2 threshold.</summary>
    public double YearlyChangeStd { get; init; } = 0.3;

    /// <summary>Standard deviation of the per-visit measurement noise of the MMSE-like score, in points: noise the volumes
    /// do not show. Default 0.2, small against the ±2 change threshold, so that change labels follow the image-visible
    /// change of cognition (an oracle on the latent change reaches macro-F1 ≥ 0.9).</summary>
    public double ScoreNoiseStd { get; init; } = 0.2;

    /// <summary>Round scores to whole MMSE points, as the clinical test does (default false: rounding alone moves a
    /// six-month change by up to ±1 point, half the threshold, and labels would follow the rounding rather than the image).</summary>
    public bool RoundScores { get; init; }

    /// <summary>Between-patient spread of the overall intensity gain (log-normal σ). Default 0.3.</summary>
    public double GainSpread { get; init; } = 0.3;

    /// <summary>Between-patient spread of head size (relative σ of the skull radii). Default 0.08.</summary>
    public double HeadSizeSpread { get; init; } = 0.08;

    /// <summary>Amplitude of the per-patient linear bias field (relative). Default 0.2.</summary>
    public double BiasFieldStrength { get; init; } = 0.2;

    /// <summary>Standard deviation of additive voxel noise. Default 0.04.</summary>
    public double NoiseStd { get; init; } = 0.04;

    /// <summary>MMSE edges of the coarse labels (label 0 = lowest MMSE): default 20.5 and 26.5, i.e. dementia-like (≤ 20),
    /// MCI-like (21–26) and normal-like (≥ 27).</summary>
    public IReadOnlyList<double> CoarseEdges { get; init; } = new[] { 20.5, 26.5 };

    /// <summary>Absolute MMSE change counted as improved/worsened in <see cref="SyntheticMriCohort.ChangeThresholds"/>. Default 2.</summary>
    public double ChangeThreshold { get; init; } = 2;

    /// <summary>The seed. Default 0.</summary>
    public ulong Seed { get; init; }

    internal void Validate()
    {
        static void Pos(int v, string n) { if (v < 1) throw new ArgumentOutOfRangeException(n, v, $"{n} must be positive."); }
        static void NonNeg(double v, string n) { if (!(v >= 0) || !double.IsFinite(v)) throw new ArgumentOutOfRangeException(n, v, $"{n} must be finite and ≥ 0."); }
        Pos(Patients, nameof(Patients)); Pos(VisitsPerPatient, nameof(VisitsPerPatient)); Pos(ScansPerVisit, nameof(ScansPerVisit));
        if (Size < 12) throw new ArgumentOutOfRangeException(nameof(Size), Size, "Size must be at least 12 voxels.");
        if (!(MonthsBetweenVisits > 0) || !double.IsFinite(MonthsBetweenVisits)) throw new ArgumentOutOfRangeException(nameof(MonthsBetweenVisits), MonthsBetweenVisits, "Must be finite and positive.");
        NonNeg(YearlyChangeStd, nameof(YearlyChangeStd)); NonNeg(ScoreNoiseStd, nameof(ScoreNoiseStd)); NonNeg(GainSpread, nameof(GainSpread));
        NonNeg(HeadSizeSpread, nameof(HeadSizeSpread)); NonNeg(BiasFieldStrength, nameof(BiasFieldStrength)); NonNeg(NoiseStd, nameof(NoiseStd));
        if (!double.IsFinite(MeanYearlyChange)) throw new ArgumentOutOfRangeException(nameof(MeanYearlyChange), MeanYearlyChange, "Must be finite.");
        if (HeadSizeSpread > 0.25) throw new ArgumentOutOfRangeException(nameof(HeadSizeSpread), HeadSizeSpread, "Must be at most 0.25.");
        if (!(ChangeThreshold > 0)) throw new ArgumentOutOfRangeException(nameof(ChangeThreshold), ChangeThreshold, "Must be positive.");
        ArgumentNullException.ThrowIfNull(CoarseEdges);
    }
}

/// <summary>
/// A synthetic brain-MRI cohort. Each patient has a latent cognition that changes linearly over months at a
/// patient-specific rate (most decline, some improve under treatment) and an MMSE-like score (0–30, higher is healthier)
/// that follows it up to a small measurement noise, so change labels follow what the volumes show. Each scan is a volume (D, H, W) with a skull,
/// cerebrospinal fluid, grey and white matter and two lateral ventricles: as the score falls the ventricles enlarge,
/// the brain shrinks away from the skull (a widening CSF rim) and cortical sulci widen. Per-patient anatomy — head size
/// and shape, position, ventricle size and placement, sulcal pattern, intensity gain and bias field — is a strong
/// nuisance that dominates the within-patient change.
/// </summary>
/// <remarks>Deterministic by <see cref="SyntheticMriOptions.Seed"/>; volumes are rendered lazily from their own seeds.</remarks>
public sealed class SyntheticMriCohort
{
    private readonly double[] _cognition; // [patient, visit]

    /// <summary>Builds the cohort (scores, labels, lazy volumes).</summary>
    /// <param name="options">Parameters; null for defaults.</param>
    public SyntheticMriCohort(SyntheticMriOptions? options = null)
    {
        Options = options ?? new SyntheticMriOptions();
        Options.Validate();
        Binning = new ScoreBinning(Options.CoarseEdges, higherIsHealthier: true);
        ChangeThresholds = ChangeThresholds.Absolute(Options.ChangeThreshold);
        int P = Options.Patients, V = Options.VisitsPerPatient, S = Options.ScansPerVisit;
        _cognition = new double[P * V];
        var scans = new List<Scan>(P * V * S);
        for (int p = 0; p < P; p++)
        {
            var rng = new Rng(SyntheticSeeds.Derive(Options.Seed, 10, (ulong)p));
            double c0 = 0.15 + 0.7 * rng.NextDouble();
            double rate = Options.MeanYearlyChange + Options.YearlyChangeStd * rng.NextGaussian();
            for (int v = 0; v < V; v++)
            {
                double months = v * Options.MonthsBetweenVisits;
                double c = Math.Clamp(c0 + rate * months / 12, 0, 1);
                _cognition[p * V + v] = c;
                double raw = 10 + 20 * c + Options.ScoreNoiseStd * rng.NextGaussian();
                double mmse = Math.Clamp(Options.RoundScores ? Math.Round(raw) : Math.Round(raw, 2), 0, 30);
                int label = Binning.Assign(mmse);
                for (int s = 0; s < S; s++)
                {
                    int pp = p, vv = v, ss = s;
                    string id = $"MRI-P{p:D4}-V{v}-S{s}";
                    scans.Add(new Scan(id, $"MRI-P{p:D4}", months, mmse, label, new DelegatePayload(() => RenderVolume(pp, vv, ss), $"synthetic MRI volume {id} (seed {Options.Seed})")));
                }
            }
        }
        Dataset = new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    /// <summary>The parameters.</summary>
    public SyntheticMriOptions Options { get; }

    /// <summary>The cohort: scans grouped by patient, MMSE-like scores (higher is healthier), coarse labels, lazy volumes.</summary>
    public LongitudinalDataset Dataset { get; }

    /// <summary>The binning that produced the coarse labels.</summary>
    public ScoreBinning Binning { get; }

    /// <summary>Suggested change thresholds (absolute MMSE <see cref="SyntheticMriOptions.ChangeThreshold"/>).</summary>
    public ChangeThresholds ChangeThresholds { get; }

    /// <summary>Generates a cohort with the given options.</summary>
    /// <param name="options">Parameters; null for defaults.</param>
    /// <returns>The dataset.</returns>
    public static LongitudinalDataset Generate(SyntheticMriOptions? options = null) => new SyntheticMriCohort(options).Dataset;

    /// <summary>The latent cognition (0 = severe, 1 = healthy) of a patient at a visit.</summary>
    /// <param name="patient">Patient number.</param>
    /// <param name="visit">Visit number.</param>
    /// <returns>The latent cognition.</returns>
    public double LatentCognition(int patient, int visit) => _cognition[CheckIndex(patient, visit, 0)];

    private int CheckIndex(int patient, int visit, int scan)
    {
        if ((uint)patient >= (uint)Options.Patients) throw new ArgumentOutOfRangeException(nameof(patient), patient, $"Patients are numbered 0..{Options.Patients - 1}.");
        if ((uint)visit >= (uint)Options.VisitsPerPatient) throw new ArgumentOutOfRangeException(nameof(visit), visit, $"Visits are numbered 0..{Options.VisitsPerPatient - 1}.");
        if ((uint)scan >= (uint)Options.ScansPerVisit) throw new ArgumentOutOfRangeException(nameof(scan), scan, $"Scans are numbered 0..{Options.ScansPerVisit - 1}.");
        return patient * Options.VisitsPerPatient + visit;
    }

    /// <summary>Renders one volume (D, H, W). Deterministic.</summary>
    /// <param name="patient">Patient number.</param>
    /// <param name="visit">Visit number.</param>
    /// <param name="scan">Scan number within the visit.</param>
    /// <returns>A new tensor.</returns>
    public Tensor RenderVolume(int patient, int visit, int scan)
    {
        double cognition = _cognition[CheckIndex(patient, visit, scan)];
        var o = Options;
        int N = o.Size;
        float a = (float)(1 - cognition); // atrophy 0 … 1

        var pr = new Rng(SyntheticSeeds.Derive(o.Seed, 11, (ulong)patient));
        float head = 0.40f * N * (float)Math.Max(0.6, 1 + o.HeadSizeSpread * pr.NextGaussian());
        float rz = head * (0.85f + 0.1f * pr.NextSingle()), ry = head * (1.0f + 0.12f * pr.NextSingle()), rx = head * (0.88f + 0.1f * pr.NextSingle());
        float gain = (float)Math.Exp(o.GainSpread * pr.NextGaussian());
        float bx = (float)(o.BiasFieldStrength * (2 * pr.NextDouble() - 1)), by = (float)(o.BiasFieldStrength * (2 * pr.NextDouble() - 1)), bz = (float)(o.BiasFieldStrength * (2 * pr.NextDouble() - 1));
        float ventBase = 0.07f + 0.05f * pr.NextSingle();     // ventricle radius relative to head
        float ventSep = 0.16f + 0.06f * pr.NextSingle();      // lateral offset relative to head
        float ventAsym = 0.9f + 0.2f * pr.NextSingle();
        float sulcFreq = 5 + 4 * pr.NextSingle(), sulcPhase = (float)(2 * Math.PI * pr.NextDouble()), sulcFreq2 = 3 + 3 * pr.NextSingle();
        float wmContrast = 0.25f + 0.15f * pr.NextSingle();

        ulong key = (ulong)((patient * (long)o.VisitsPerPatient + visit) * o.ScansPerVisit + scan);
        var cr = new Rng(SyntheticSeeds.Derive(o.Seed, 12, key));
        float cz = 0.5f * N + 1.5f * (2 * cr.NextSingle() - 1), cy = 0.5f * N + 1.5f * (2 * cr.NextSingle() - 1), cx = 0.5f * N + 1.5f * (2 * cr.NextSingle() - 1);
        float noise = (float)o.NoiseStd;

        float brainScale = 0.86f * (1 - 0.16f * a);        // brain shrinks from the skull
        float vent = ventBase * (1 + 2.5f * a);             // ventricles enlarge
        float sulcWidth = 0.08f + 0.5f * a;                // sulci widen
        var data = new float[N * N * N];
        for (int z = 0; z < N; z++)
            for (int y = 0; y < N; y++)
                for (int x = 0; x < N; x++)
                {
                    float dz = (z - cz) / rz, dy = (y - cy) / ry, dx = (x - cx) / rx;
                    float r = MathF.Sqrt(dz * dz + dy * dy + dx * dx); // 1 at the skull's inner surface
                    float v;
                    if (r > 1.12f) v = 0.02f;                          // air
                    else if (r > 1.0f) v = 0.45f;                      // skull
                    else if (r > brainScale) v = 0.12f;                // CSF rim
                    else
                    {
                        float rel = r / brainScale;
                        // Cortex (grey) outside, white matter inside.
                        v = rel > 0.72f ? 0.6f : 0.6f + wmContrast;
                        if (rel > 0.72f)
                        {
                            float ang = MathF.Atan2(dy, dx), el = MathF.Atan2(dz, MathF.Sqrt(dx * dx + dy * dy));
                            float s = MathF.Sin(sulcFreq * ang + sulcPhase) * MathF.Cos(sulcFreq2 * el);
                            if (MathF.Abs(s) < sulcWidth * (rel - 0.62f) * 2.5f) v = 0.14f; // sulcal CSF
                        }
                        // Two lateral ventricles.
                        for (int side = -1; side <= 1; side += 2)
                        {
                            float vx = (dx * rx / head - side * ventSep) / (vent * (side < 0 ? ventAsym : 1));
                            float vy = (dy * ry / head) / (vent * 2.2f);
                            float vz = (dz * rz / head - 0.05f) / (vent * 2.0f);
                            if (vx * vx + vy * vy + vz * vz < 1) v = 0.1f;
                        }
                    }
                    float bias = 1 + bx * (x - 0.5f * N) / N + by * (y - 0.5f * N) / N + bz * (z - 0.5f * N) / N;
                    data[(z * N + y) * N + x] = gain * bias * v + noise * (float)cr.NextGaussian();
                }
        return new Tensor(data, N, N, N);
    }
}
