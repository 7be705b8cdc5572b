using System.Buffers.Binary;
using System.Text;
using Learner.Nn;
using Learner.Nn.Serialization;

namespace Learner.Nn.Tests;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("learner-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>Writes a file with the given raw header text (no padding) and data bytes.</summary>
    private string Raw(string name, string header, byte[] data, ulong? headerLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        File.WriteAllBytes(P(name), bytes);
        return P(name);
    }

    private static byte[] Floats(params float[] v)
    {
        var b = new byte[4 * v.Length];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), v[i]);
        return b;
    }

    [Fact]
    public void Round_trip_is_bit_identical_with_metadata_scalars_and_empty_tensors()
    {
        var rng = new Rng(1);
        var a = Tensor.Uniform(rng, -1, 1, 3, 5, 2);
        a.Data[0] = float.NaN; a.Data[1] = -0f; a.Data[2] = float.PositiveInfinity; a.Data[3] = float.Epsilon;
        a.Data[4] = BitConverter.Int32BitsToSingle(0x7FC0_1234);
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("layer.weight", a), new("scalar", Tensor.Scalar(2.5f)), new("empty", Tensor.Zeros(0, 4)), new("b", Tensor.Arange(7)),
        };
        var meta = new Dictionary<string, string> { ["epoch"] = "3", ["note"] = "héllo \"quoted\" ✓" };
        Safetensors.Save(P("a.safetensors"), tensors, meta);

        var bytes = File.ReadAllBytes(P("a.safetensors"));
        ((8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes)) % 8).Should().Be(0, "the header is padded to 8 bytes");
        var back = Safetensors.Load(P("a.safetensors"));
        back.Entries.Select(e => e.Name).Should().Equal("layer.weight", "scalar", "empty", "b");
        back.Metadata.Should().BeEquivalentTo(meta);
        foreach (var (name, t) in tensors)
        {
            back.Tensors[name].ShapeArray.Should().Equal(t.ShapeArray);
            back.Tensors[name].ToArray().Select(BitConverter.SingleToInt32Bits).Should().Equal(t.ToArray().Select(BitConverter.SingleToInt32Bits));
        }
        back.Entries.Should().OnlyContain(e => e.DType == SafetensorsDType.F32);
        Directory.GetFiles(_dir).Should().HaveCount(1, "the temporary file was moved into place");
    }

    [Fact]
    public void Save_replaces_an_existing_file_and_a_rejected_save_leaves_it_intact()
    {
        Safetensors.Save(P("m.safetensors"), new[] { new KeyValuePair<string, Tensor>("x", Tensor.Ones(2)) });
        Safetensors.Save(P("m.safetensors"), new[] { new KeyValuePair<string, Tensor>("y", Tensor.Full(3f, 3)) });
        Safetensors.Load(P("m.safetensors")).Tensors.Keys.Should().Equal("y");
        var act = () => Safetensors.Save(P("m.safetensors"), new[] { new KeyValuePair<string, Tensor>("z", Tensor.Ones(1)), new("z", Tensor.Ones(1)) });
        act.Should().Throw<ArgumentException>().WithMessage("*'z'*more than once*");
        ((Action)(() => Safetensors.Save(P("m.safetensors"), new[] { new KeyValuePair<string, Tensor>("__metadata__", Tensor.Ones(1)) })))
            .Should().Throw<ArgumentException>();
        Safetensors.Load(P("m.safetensors")).Tensors["y"].ToArray().Should().Equal(3f, 3f, 3f);
        ((Action)(() => Safetensors.Save(Path.Combine(_dir, "no-such-dir", "f.safetensors"), new[] { new KeyValuePair<string, Tensor>("x", Tensor.Ones(1)) })))
            .Should().Throw<DirectoryNotFoundException>();
        Directory.GetFiles(_dir).Should().HaveCount(1);
    }

    [Fact]
    public void Reads_a_file_written_by_pytorch_in_every_supported_dtype()
    {
        var c = Fixtures.Load("safetensors_expected.json").Single();
        var content = Safetensors.Load(FixturePath("interop.safetensors"));
        content.Metadata["note"].Should().Be("héllo ✓");
        content.Metadata["format"].Should().Be("pt");
        var dtypes = c.Params.GetProperty("dtypes");
        foreach (var e in content.Entries)
        {
            e.DType.ToString().ToUpperInvariant().Should().Be(dtypes.GetProperty(e.Name).GetString(), e.Name);
            if (e.Name == "empty") { content.Tensors[e.Name].ShapeArray.Should().Equal(0, 3); continue; }
            var expected = c.Tensor(e.Name);
            content.Tensors[e.Name].ShapeArray.Should().Equal(expected.ShapeArray, e.Name);
            content.Tensors[e.Name].ToArray().Should().Equal(expected.ToArray(), e.Name);
        }
        content.Entries.Should().HaveCount(13);
    }

    [Fact]
    public void Header_only_reading_lists_entries()
    {
        var (entries, meta) = Safetensors.ReadHeader(FixturePath("interop.safetensors"));
        entries.Single(e => e.Name == "bf").Should().Match<SafetensorsEntry>(e => e.DType == SafetensorsDType.BF16 && e.End - e.Begin == 12);
        meta.Should().ContainKey("note");
    }

    public static TheoryData<string, string, string> CorruptHeaders => new()
    {
        { "overlap", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", "*overlap*'a'*key 'b'*" },
        { "outside", """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", "*beyond the 12-byte data buffer*key 'a'*byte offset*" },
        { "unknown dtype", """{"a":{"dtype":"F99","shape":[3],"data_offsets":[0,12]}}""", "*unknown dtype 'F99'*key 'a'*byte offset*" },
        { "unsupported dtype", """{"a":{"dtype":"U32","shape":[3],"data_offsets":[0,12]}}""", "*'U32' is not supported*" },
        { "malformed", """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}""", "*not well-formed JSON*byte offset*" },
        { "not an object", """[1, 2, 3]""", "*does not start with '{'*" },
        { "size mismatch", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}}""", "*needs 8 bytes*span 12*key 'a'*" },
        { "gap", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", "*gap of 4*" },
        { "trailing", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "*cover 4 bytes*12*" },
        { "duplicate", """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}""", "*twice*key 'a'*" },
        { "negative dim", """{"a":{"dtype":"F32","shape":[-3],"data_offsets":[0,12]}}""", "*'shape' entry 0*key 'a'*" },
        { "huge dims", """{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,12]}}""", "*'shape' entry 0*" },
        { "overflowing product", """{"a":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,12]}}""", "*more elements than*" },
        { "missing field", """{"a":{"dtype":"F32","shape":[3]}}""", "*lacks 'data_offsets'*key 'a'*" },
        { "extra field", """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12],"x":1}}""", "*unexpected field 'x'*" },
        { "reversed offsets", """{"a":{"dtype":"F32","shape":[3],"data_offsets":[12,0]}}""", "*ends before it begins*" },
        { "three offsets", """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12,12]}}""", "*more than two*" },
        { "metadata not strings", """{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}""", "*metadata values must be strings*" },
        { "deep nesting", """{"a":{"dtype":"F32","shape":[[[[[3]]]]],"data_offsets":[0,12]}}""", "*'shape' entry 0*" },
        { "trailing json", """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}} {}""", "*JSON*" },
        { "comment", """{/*x*/"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}""", "*JSON*" },
    };

    [Theory]
    [MemberData(nameof(CorruptHeaders))]
    public void Corrupt_headers_raise_checkpoint_exceptions_naming_file_key_and_offset(string name, string header, string pattern)
    {
        string path = Raw(name.Replace(' ', '_') + ".safetensors", header, Floats(1, 2, 3));
        var act = () => Safetensors.Load(path);
        act.Should().Throw<CheckpointException>().WithMessage(pattern).And.FilePath.Should().Be(path);
        act.Should().Throw<CheckpointException>().WithMessage($"*{Path.GetFileName(path)}*");
    }

    [Fact]
    public void A_valid_hand_written_header_loads()
    {
        string path = Raw("ok.safetensors", """{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}, "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   """, Floats(1, 2, 3));
        var c = Safetensors.Load(path);
        c.Tensors["a"].ToArray().Should().Equal(1f, 2f);
        c.Tensors["b"].ToArray().Should().Equal(3f);
    }

    [Fact]
    public void Bad_header_lengths_and_truncation_are_reported_before_any_large_allocation()
    {
        string huge = Raw("huge.safetensors", "{}", Array.Empty<byte>(), headerLength: ulong.MaxValue);
        ((Action)(() => Safetensors.Load(huge))).Should().Throw<CheckpointException>().WithMessage("*header length 18446744073709551615 exceeds*byte offset 0*");

        File.WriteAllBytes(P("tiny.safetensors"), new byte[] { 1, 2, 3 });
        ((Action)(() => Safetensors.Load(P("tiny.safetensors")))).Should().Throw<CheckpointException>().WithMessage("*3 bytes*");

        // A sparse 120 MB file whose header claims 110 MB: within the file, beyond the header limit.
        using (var fs = new FileStream(P("big.safetensors"), FileMode.Create))
        {
            var len = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, 110_000_000);
            fs.Write(len);
            fs.SetLength(120_000_000);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        ((Action)(() => Safetensors.Load(P("big.safetensors")))).Should().Throw<CheckpointException>().WithMessage("*100000000-byte limit*");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1_000_000);

        Safetensors.Save(P("t.safetensors"), new[] { new KeyValuePair<string, Tensor>("w", Tensor.Ones(100)) });
        var bytes = File.ReadAllBytes(P("t.safetensors"));
        File.WriteAllBytes(P("t.safetensors"), bytes[..^10]);
        ((Action)(() => Safetensors.Load(P("t.safetensors")))).Should().Throw<CheckpointException>().WithMessage("*beyond the 390-byte data buffer*key 'w'*");
    }

    [Fact]
    public void Values_float32_cannot_hold_are_rejected()
    {
        var i64 = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(i64, 16_777_217);
        string path = Raw("i64.safetensors", """{"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}""", i64);
        ((Action)(() => Safetensors.Load(path))).Should().Throw<CheckpointException>().WithMessage("*16777217 has no exact float32*key 'n'*byte offset*");
        var f64 = new byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(f64, 1e300);
        path = Raw("f64.safetensors", """{"d":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}""", f64);
        ((Action)(() => Safetensors.Load(path))).Should().Throw<CheckpointException>().WithMessage("*beyond float32's range*");
        path = Raw("bool.safetensors", """{"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}""", new byte[] { 1, 7 });
        ((Action)(() => Safetensors.Load(path))).Should().Throw<CheckpointException>().WithMessage("*BOOL byte 7*");
    }

    [Fact]
    public void Seeded_mutations_give_only_checkpoint_exceptions_without_large_allocations()
    {
        var rng = new Rng(77);
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("a.weight", Tensor.Uniform(rng, -1, 1, 4, 3)), new("a.bias", Tensor.Uniform(rng, -1, 1, 4)), new("s", Tensor.Scalar(1f)),
        };
        Safetensors.Save(P("base.safetensors"), tensors, new Dictionary<string, string> { ["k"] = "v" });
        var original = File.ReadAllBytes(P("base.safetensors"));
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        byte[] interesting = Encoding.ASCII.GetBytes("{}[]\":,0123456789-e.FIBU \\");
        string path = P("fuzz.safetensors");
        int loaded = 0, rejected = 0;
        for (int iter = 0; iter < 3000; iter++)
        {
            byte[] bytes = (byte[])original.Clone();
            int kind = rng.NextInt(6);
            switch (kind)
            {
                case 0: // random byte anywhere
                    for (int k = rng.NextInt(1, 4); k > 0; k--) bytes[rng.NextInt(bytes.Length)] = (byte)rng.NextInt(256);
                    break;
                case 1: // JSON-significant byte in the header
                    for (int k = rng.NextInt(1, 3); k > 0; k--) bytes[rng.NextInt(8, headerEnd)] = interesting[rng.NextInt(interesting.Length)];
                    break;
                case 2: // truncation
                    bytes = bytes[..rng.NextInt(bytes.Length)];
                    break;
                case 3: // header length
                    BinaryPrimitives.WriteUInt64LittleEndian(bytes, rng.NextInt(3) == 0 ? rng.NextUInt64() : (ulong)rng.NextInt(headerEnd + 64));
                    break;
                case 4: // digit change inside the header (shapes, offsets)
                    {
                        var digits = Enumerable.Range(8, headerEnd - 8).Where(i => bytes[i] is >= (byte)'0' and <= (byte)'9').ToArray();
                        bytes[digits[rng.NextInt(digits.Length)]] = (byte)('0' + rng.NextInt(10));
                        break;
                    }
                default: // inserted bytes in the header
                    {
                        int at = rng.NextInt(8, headerEnd);
                        var insert = Enumerable.Range(0, rng.NextInt(1, 5)).Select(_ => interesting[rng.NextInt(interesting.Length)]).ToArray();
                        bytes = bytes[..at].Concat(insert).Concat(bytes[at..]).ToArray();
                        break;
                    }
            }
            File.WriteAllBytes(path, bytes);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                Safetensors.Load(path);
                loaded++;
            }
            catch (CheckpointException)
            {
                rejected++;
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException($"Mutation {iter} (kind {kind}) raised {ex.GetType().Name}: {ex.Message}");
            }
            (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(200_000 + 8L * bytes.Length, $"mutation {iter}");
        }
        rejected.Should().BeGreaterThan(1500);
        loaded.Should().BeGreaterThan(0, "value-only mutations still load");
    }
}
