using Learner.Data;
using Learner.Encoders;

namespace Learner.Downstream;

/// <summary>Embeds every scan of a dataset with an encoder in evaluation mode.</summary>
public static class Embedder
{
    /// <summary>Embeds every scan on a thread-pool thread (see <see cref="EmbedAll(IEncoder, LongitudinalDataset, int, CancellationToken)"/>).</summary>
    /// <param name="encoder">The encoder (evaluation mode is used).</param>
    /// <param name="dataset">The scans, in the order of the result's rows.</param>
    /// <param name="batchSize">Scans per forward pass (≥ 1).</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>N × D embeddings, row-major.</returns>
    public static Task<float[]> EmbedAllAsync(IEncoder encoder, LongitudinalDataset dataset, int batchSize = 64, CancellationToken cancellationToken = default)
        => Task.Run(() => EmbedAll(encoder, dataset, batchSize, cancellationToken), CancellationToken.None);

    /// <summary>Embeds all scans, in dataset order, normalised as the encoder was trained: pass the pretrainer's
    /// <see cref="Training.Pretrainer.InputNormalization"/> (or <see cref="Training.Pretrainer.ReadCheckpointNormalization"/>
    /// of its checkpoint). A dataset already normalised this way is embedded as it is.</summary>
    /// <param name="encoder">The encoder (switched to evaluation mode and back).</param>
    /// <param name="dataset">The scans, as stored or already normalised by <paramref name="normalization"/>.</param>
    /// <param name="normalization">The per-scan input normalisation the encoder was trained on.</param>
    /// <param name="batchSize">Scans per forward pass (≥ 1).</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>Row-major N×D embeddings; row i belongs to <c>dataset.Scans[i]</c>.</returns>
    /// <exception cref="ArgumentException"><paramref name="dataset"/> is already normalised another way.</exception>
    public static float[] EmbedAll(IEncoder encoder, LongitudinalDataset dataset, ScanNormalization normalization, int batchSize = 64, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(normalization);
        return EmbedAll(encoder, normalization.Apply(dataset), batchSize, cancellationToken);
    }

    /// <summary>Embeds all scans, in dataset order, with their payloads as the dataset gives them (no normalisation is
    /// applied here: an encoder pretrained with the default <see cref="Training.PretrainingOptions.InputNormalization"/>
    /// needs the overload taking a <see cref="ScanNormalization"/>).</summary>
    /// <param name="encoder">The encoder (switched to evaluation mode and back).</param>
    /// <param name="dataset">The scans.</param>
    /// <param name="batchSize">Scans per forward pass (≥ 1).</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>Row-major N×D embeddings; row i belongs to <c>dataset.Scans[i]</c>.</returns>
    public static float[] EmbedAll(IEncoder encoder, LongitudinalDataset dataset, int batchSize = 64, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int n = dataset.ScanCount, d = encoder.EmbeddingDimension;
        var result = new float[(long)n * d];
        bool wasTraining = encoder.Training;
        encoder.SetTraining(false);
        try
        {
            var indices = new int[batchSize];
            for (int start = 0; start < n; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(batchSize, n - start);
                for (int i = 0; i < count; i++) indices[i] = start + i;
                using var scope = Learner.Nn.TensorScope.Begin();
                var batch = dataset.LoadBatch(indices.AsSpan(0, count));
                encoder.Forward(batch, result.AsSpan(start * d, count * d), requiresGrad: false);
            }
        }
        finally
        {
            encoder.SetTraining(wasTraining);
        }
        return result;
    }
}
