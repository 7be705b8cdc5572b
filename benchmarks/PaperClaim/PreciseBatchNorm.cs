using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Sampling;
using Learner.Training;

/// <summary>
/// `diagnose bn=precise`: the embeddings with every batch norm's running statistics replaced by the mean of the
/// batch statistics of training-mode batches of pretraining clips at the current weights ("precise BN"), instead of
/// the exponential average the training steps left, whose early batches saw older weights. The running statistics
/// are restored afterwards, so a learning curve's later points train on exactly what they would have without it.
/// </summary>
internal static class PreciseBatchNorm
{
    public static float[] Embed(IEncoder encoder, LongitudinalDataset data, LongitudinalDataset train, int patients, int scans, int batches, ulong seed)
    {
        if (encoder is not ModuleEncoder me) throw new ArgumentException($"bn=precise needs a managed encoder, got {encoder.Name}.", nameof(encoder));
        var norms = me.Module.NamedModules().Select(m => m.Value).OfType<BatchNorm>().Where(b => b.RunningMean is not null).ToList();
        var saved = norms.Select(b => (Mean: b.RunningMean!.ToArray(), Var: b.RunningVar!.ToArray(), Count: b.NumBatchesTracked!.Data[0])).ToList();
        var sums = norms.Select(b => (Mean: new double[b.NumFeatures], Var: new double[b.NumFeatures])).ToList();
        var sampler = new PatientBatchSampler(train, patients, scans);
        var rng = new Rng(seed * 7919 + 17);
        var idx = new int[sampler.BatchSize];
        var sink = new float[sampler.BatchSize * encoder.EmbeddingDimension];
        bool wasTraining = encoder.Training;
        encoder.SetTraining(true);
        try
        {
            for (int b = 0; b < batches; b++)
            {
                sampler.SampleBatch(idx, rng);
                // With the running statistics cleared, one update leaves momentum × the batch's statistics in them.
                foreach (var n in norms) { n.RunningMean!.Data.Clear(); n.RunningVar!.Data.Clear(); }
                using (TensorScope.Begin())
                    encoder.Forward(train.LoadBatch(idx), sink, requiresGrad: false);
                for (int i = 0; i < norms.Count; i++)
                {
                    var n = norms[i];
                    double m = n.Momentum ?? 1.0 / n.NumBatchesTracked!.Data[0];
                    var mean = n.RunningMean!.Data;
                    var var = n.RunningVar!.Data;
                    for (int c = 0; c < n.NumFeatures; c++) { sums[i].Mean[c] += mean[c] / m; sums[i].Var[c] += var[c] / m; }
                }
            }
            for (int i = 0; i < norms.Count; i++)
            {
                var n = norms[i];
                var mean = n.RunningMean!.Data;
                var var = n.RunningVar!.Data;
                for (int c = 0; c < n.NumFeatures; c++) { mean[c] = (float)(sums[i].Mean[c] / batches); var[c] = (float)(sums[i].Var[c] / batches); }
            }
            encoder.SetTraining(false);
            return Embedder.EmbedAll(encoder, data, 64);
        }
        finally
        {
            for (int i = 0; i < norms.Count; i++)
            {
                saved[i].Mean.CopyTo(norms[i].RunningMean!.Data);
                saved[i].Var.CopyTo(norms[i].RunningVar!.Data);
                norms[i].NumBatchesTracked!.Data[0] = saved[i].Count;
            }
            encoder.SetTraining(wasTraining);
        }
    }
}
