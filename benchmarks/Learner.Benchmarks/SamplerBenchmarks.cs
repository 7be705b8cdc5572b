using BenchmarkDotNet.Attributes;
using Learner.Data;
using Learner.Nn;
using Learner.Sampling;

namespace Learner.Benchmarks;

/// <summary>
/// Sampler hot paths at 1k / 10k / 100k scans (four scans per patient, scores uniform in [100, 500], four coarse
/// labels) and batches of 256 / 1024. Target: a 1024-pair inter-patient batch from 100k scans in ≤ 10 µs with
/// 0 bytes allocated. Pairs per second = BatchSize / mean time.
/// </summary>
[MemoryDiagnoser]
public class SamplerBenchmarks
{
    private InterPatientPairSampler _labelPairs = null!;
    private InterPatientPairSampler _scorePairs = null!;
    private InterPatientTripletSampler _triplets = null!;
    private InterPatientTripletSampler _semiHard = null!;
    private PatientBatchSampler _patientBatches = null!;
    private LabelBalancedBatchSampler _balanced = null!;
    private IntraPatientPairSampler _intra = null!;
    private ScanPair[] _pairs = null!;
    private ScanTriplet[] _tripletBuffer = null!;
    private ConsecutivePair[] _consecutive = null!;
    private int[] _indices = null!;
    private int[] _patientIndices = null!;
    private Rng _rng = null!;
    private int _epoch;

    /// <summary>Scans in the dataset.</summary>
    [Params(1_000, 10_000, 100_000)]
    public int Scans { get; set; }

    /// <summary>Items per batch.</summary>
    [Params(256, 1024)]
    public int BatchSize { get; set; }

    /// <summary>Builds the dataset and samplers (the O(N log N) index builds are not timed).</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(42);
        var binning = new ScoreBinning(new[] { 200.0, 300.0, 400.0 }, higherIsHealthier: true);
        var scans = new List<Scan>(Scans);
        for (int i = 0; i < Scans; i++)
        {
            double score = 100 + 400 * rng.NextDouble();
            scans.Add(new Scan($"s{i}", $"p{i / 4}", i % 4, score, binning.Assign(score)));
        }
        var dataset = new LongitudinalDataset(scans, higherIsHealthier: true);
        var rules = new InterPatientPairOptions { NegativeGap = 60, Curriculum = CurriculumSchedule.Cosine(250, 60, 10) };
        _labelPairs = new InterPatientPairSampler(dataset, rules);
        _scorePairs = new InterPatientPairSampler(dataset, rules with { PositiveRule = PositiveRule.ScoreWithin, PositiveThreshold = 10 });
        _triplets = new InterPatientTripletSampler(dataset, rules);
        _semiHard = new InterPatientTripletSampler(dataset, rules, TripletSelection.SemiHard, candidateCount: 8);
        _semiHard.SetEmbeddings(Tensor.Normal(new Rng(1), 0, 1, Scans, 128));
        int patientsPerBatch = Math.Min(BatchSize / 4, Scans / 8); // P distinct patients must exist (1k scans = 250 patients)
        _patientBatches = new PatientBatchSampler(dataset, patientsPerBatch, 4);
        _patientIndices = new int[patientsPerBatch * 4];
        _balanced = new LabelBalancedBatchSampler(dataset, BatchSize);
        _intra = new IntraPatientPairSampler(dataset, ChangeThresholds.Absolute(20));
        _pairs = new ScanPair[BatchSize];
        _tripletBuffer = new ScanTriplet[BatchSize];
        _consecutive = new ConsecutivePair[BatchSize];
        _indices = new int[BatchSize];
        _rng = new Rng(7);
    }

    /// <summary>Inter-patient pairs, positives by coarse label (the LEARNER sampler).</summary>
    [Benchmark(Baseline = true)]
    public void InterPatientPairs() => _labelPairs.SampleBatch(_pairs, _rng);

    /// <summary>Inter-patient pairs, positives by |Δscore| ≤ 10.</summary>
    [Benchmark]
    public void InterPatientPairsByScore() => _scorePairs.SampleBatch(_pairs, _rng);

    /// <summary>Random inter-patient triplets.</summary>
    [Benchmark]
    public void Triplets() => _triplets.SampleBatch(_tripletBuffer, _rng);

    /// <summary>Semi-hard triplets over 8 candidates with 128-dimensional embeddings.</summary>
    [Benchmark]
    public void SemiHardTriplets() => _semiHard.SampleBatch(_tripletBuffer, _rng);

    /// <summary>Consecutive-visit pairs with change labels.</summary>
    [Benchmark]
    public void IntraPatientPairs() => _intra.SampleBatch(_consecutive, _rng);

    /// <summary>P × K batch (P = BatchSize / 4, capped at an eighth of the scans; K = 4).</summary>
    [Benchmark]
    public void PatientBatch() => _patientBatches.SampleBatch(_patientIndices, _rng);

    /// <summary>Label-balanced batch.</summary>
    [Benchmark]
    public void LabelBalancedBatch() => _balanced.SampleBatch(_indices, _rng);

    /// <summary>One curriculum step: re-indexing negatives for a new gap (O(N), once per epoch).</summary>
    [Benchmark]
    public void CurriculumStep() => _labelPairs.BeginEpoch(++_epoch % 10);
}
