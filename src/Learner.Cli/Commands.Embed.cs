using System.CommandLine;
using Learner.Data;
using Learner.Data.Formats;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Nn;
using Learner.Training;

namespace Learner.Cli;

// The embed command; the other commands and the shared option helpers are in Commands.cs.
internal static partial class Commands
{
    // ---------------------------------------------------------------- embed
    public static Command Embed(CliContext cx, Option<bool> json)
    {
        var run = Req("--run", "The run folder written by pretrain (its run.json rebuilds the encoder).");
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint to load (default: the run's best.safetensors if any, else last.safetensors)." };
        var manifest = Req("--manifest", "Manifest of the scans to embed.");
        var output = Req("--out", "The embeddings file: .npy (float32 N×D) or .npz (member 'embeddings', float32 N×D); scan ids are written beside it as <out>.ids.csv.");
        var batch = Opt("--batch", "Scans per forward pass.", 64);
        var tta = Opt("--tta", "Test-time augmentation: none, or flip (each scan's embedding averaged with its left-right mirror image's; twice the cost; not for feature vectors).", "none").AcceptOnlyFromAmong("none", "flip");
        var cmd = new Command("embed", """
            Embed every scan of a manifest with a pretrained encoder.

            Examples:
              learner embed --run runs/wc --manifest data/lus-test/manifest.csv --out runs/wc/test.npy
              learner embed --run runs/wc --checkpoint runs/wc/last.safetensors --manifest data/test/manifest.csv --out test.npz
              learner embed --run runs/wc --manifest data/lus-test/manifest.csv --tta flip --out runs/wc/test-flip.npy
            """) { run, checkpoint, manifest, output, batch, tta };
        cmd.SetAction(p =>
        {
            string dir = p.GetValue(run)!;
            string file = p.GetValue(output)!;
            bool npz = EmbeddingsFormat(file, "--out");
            string runFile = Path.Combine(dir, RunSettings.FileName);
            CliContext.RequireFile(runFile, "--run");
            var settings = RunSettings.Read(runFile);
            string ckpt = p.GetValue(checkpoint) ?? (File.Exists(Path.Combine(dir, "best.safetensors")) ? Path.Combine(dir, "best.safetensors") : Path.Combine(dir, "last.safetensors"));
            CliContext.RequireFile(ckpt, "--checkpoint");
            var data = cx.ReadManifest(p.GetValue(manifest)!);
            CliContext.Positive(p.GetValue(batch), "--batch");
            var encoderOptions = settings.EncoderOptions(data);
            var encoder = EncoderFactory.Create(encoderOptions); // the architecture run.json records
            encoder.Load(ckpt, null, strict: true);
            // The scans get the normalisation the encoder was trained with, as its checkpoint records it.
            var normalization = Pretrainer.ReadCheckpointNormalization(ckpt);
            if (normalization is null)
                cx.Err.WriteLine($"learner: warning: '{ckpt}' does not record its input normalisation (written before it was recorded); its run trained on payloads as stored, so they are embedded as stored.");
            if (encoder.FindNonFiniteTensor() is { } bad)
                throw new CliException($"--checkpoint: '{ckpt}' holds a non-finite {bad}: the run that wrote it diverged; embeddings from it would be meaningless.", ExitCodes.Failed);
            var augmentation = p.GetValue(tta) == "flip" ? TestTimeAugmentation.Flip : TestTimeAugmentation.None;
            if (augmentation != TestTimeAugmentation.None && encoderOptions.Architecture == "mlp")
                throw new CliException("--tta flip mirrors image axes, but the run's encoder is an mlp on feature vectors; use --tta none.");
            var embeddings = Embedder.EmbedAll(encoder, (normalization ?? ScanNormalization.Unchanged).Apply(data), augmentation, p.GetValue(batch));
            int nonFinite = Array.FindIndex(embeddings, v => !float.IsFinite(v));
            if (nonFinite >= 0)
            {
                var scan = data.Scans[nonFinite / encoder.EmbeddingDimension];
                throw new CliException($"The embedding of scan '{scan.Id}' (patient '{scan.PatientId}', row {nonFinite / encoder.EmbeddingDimension}) from '{ckpt}' is not finite (the forward overflowed); nothing was written.", ExitCodes.Failed);
            }
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            var matrix = new Tensor(embeddings, data.ScanCount, encoder.EmbeddingDimension);
            if (npz) Npz.Write(file, new Dictionary<string, Tensor> { [NpzMember] = matrix });
            else Npy.Write(file, matrix);
            using (var ids = new StreamWriter(file + ".ids.csv"))
            {
                ids.WriteLine("row,scan_id,patient_id");
                for (int i = 0; i < data.ScanCount; i++) ids.WriteLine($"{i},{Csv(data.Scans[i].Id)},{Csv(data.Scans[i].PatientId)}");
            }
            if (p.GetValue(json)) cx.WriteJson(new { embeddings = Path.GetFullPath(file), ids = Path.GetFullPath(file + ".ids.csv"), scans = data.ScanCount, dimension = encoder.EmbeddingDimension, checkpoint = Path.GetFullPath(ckpt) });
            else cx.Out.WriteLine($"Wrote {data.ScanCount} × {encoder.EmbeddingDimension} embeddings to {file} (checkpoint {ckpt}).");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The NPZ member that holds the embedding matrix.</summary>
    private const string NpzMember = "embeddings";

    /// <summary>True for .npz, false for .npy; any other extension is a usage error naming the option.</summary>
    private static bool EmbeddingsFormat(string file, string option)
    {
        string ext = Path.GetExtension(file);
        if (ext.Equals(".npz", StringComparison.OrdinalIgnoreCase)) return true;
        if (ext.Equals(".npy", StringComparison.OrdinalIgnoreCase)) return false;
        throw new CliException($"{option}: '{file}' must end in .npy or .npz (the embeddings formats), got '{(ext.Length == 0 ? "no extension" : ext)}'.");
    }

    private static string Csv(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
