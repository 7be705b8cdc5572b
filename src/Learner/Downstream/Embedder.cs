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

    /// <summary>Embeds all scans, in dataset order, with test-time augmentation: with
    /// <see cref="TestTimeAugmentation.Flip"/> each scan's embedding is the mean of its own and its mirror image's
    /// (the last axis reversed, as <see cref="Augment.Flip"/>), which averages out part of the clip-to-clip noise that
    /// the change classifier otherwise reads (docs/results.md, "Test-time flip"); with
    /// <see cref="TestTimeAugmentation.None"/> it is <see cref="EmbedAll(IEncoder, LongitudinalDataset, int, CancellationToken)"/>.
    /// Payloads are used as the dataset gives them (normalise first, as for that overload).</summary>
    /// <param name="encoder">The encoder (switched to evaluation mode and back).</param>
    /// <param name="dataset">The scans.</param>
    /// <param name="augmentation">The test-time augmentation.</param>
    /// <param name="batchSize">Scans per forward pass (≥ 1).</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>Row-major N×D embeddings; row i belongs to <c>dataset.Scans[i]</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="augmentation"/> is not a defined value.</exception>
    /// <exception cref="ArgumentException"><see cref="TestTimeAugmentation.Flip"/> on feature vectors (scans of one
    /// axis, which have no image axis to mirror).</exception>
    public static float[] EmbedAll(IEncoder encoder, LongitudinalDataset dataset, TestTimeAugmentation augmentation, int batchSize = 64, CancellationToken cancellationToken = default)
    {
        if (!Enum.IsDefined(augmentation)) throw new ArgumentOutOfRangeException(nameof(augmentation), augmentation, "Not a TestTimeAugmentation.");
        return augmentation == TestTimeAugmentation.None
            ? EmbedAll(encoder, dataset, batchSize, cancellationToken)
            : Run(encoder, dataset, batchSize, mirrored: true, cancellationToken);
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
        => Run(encoder, dataset, batchSize, mirrored: false, cancellationToken);

    private static float[] Run(IEncoder encoder, LongitudinalDataset dataset, int batchSize, bool mirrored, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int n = dataset.ScanCount, d = encoder.EmbeddingDimension;
        var result = new float[(long)n * d];
        bool wasTraining = encoder.Training;
        encoder.SetTraining(false);
        var second = mirrored ? new float[(long)Math.Min(batchSize, n) * d] : null;
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
                if (second is not null && batch.Rank < 3)
                    throw new ArgumentException($"TestTimeAugmentation.Flip mirrors each scan's last image axis, but scan '{dataset.Scans[start].Id}' is a feature vector of shape [{batch.Dim(-1)}]; use TestTimeAugmentation.None for feature payloads.", "augmentation");
                var rows = result.AsSpan(start * d, count * d);
                encoder.Forward(batch, rows, requiresGrad: false);
                if (second is null) continue;
                var other = second.AsSpan(0, count * d);
                encoder.Forward(Augment.Flip(batch), other, requiresGrad: false);
                System.Numerics.Tensors.TensorPrimitives.Add(rows, other, rows);
                System.Numerics.Tensors.TensorPrimitives.Multiply(rows, 0.5f, rows);
            }
        }
        finally
        {
            encoder.SetTraining(wasTraining);
        }
        return result;
    }
}
