using Learner.Data;
using Learner.Data.Formats;
using Learner.Nn;

namespace Learner.Tests.Data;

public class WriterRoundTripTests
{
    public static TheoryData<int[]> Shapes => new() { new[] { 7 }, new[] { 3, 4 }, new[] { 2, 3, 5 }, new[] { 2, 3, 4, 2 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Npy_and_nifti_round_trip(int[] shape)
    {
        using var tmp = new TempFolder();
        var t = Tensor.Normal(new Rng(1), 0, 10, shape);
        foreach (var name in new[] { "x.npy", "x.nii", "x.nii.gz", "x.npz" })
        {
            PayloadFile.Write(tmp.File(name), t);
            var back = PayloadFile.Read(tmp.File(name));
            back.ShapeArray.Should().Equal(shape, name);
            back.ToArray().Should().Equal(t.ToArray(), name);
        }
    }

    [Fact]
    public void Npy_header_is_aligned_like_numpy()
    {
        using var tmp = new TempFolder();
        Npy.Write(tmp.File("a.npy"), Tensor.Zeros(3, 4));
        var h = Npy.ReadHeader(File.ReadAllBytes(tmp.File("a.npy")), "a");
        (h.DataOffset % 64).Should().Be(0);
        h.Shape.Should().Equal(3, 4);
        Npy.Read(Npy_bytes(Tensor.Scalar(2.5f)), "s").Item().Should().Be(2.5f);
    }

    private static byte[] Npy_bytes(Tensor t)
    {
        using var ms = new MemoryStream();
        Npy.Write(ms, t);
        return ms.ToArray();
    }

    [Fact]
    public void Nifti_integer_storage_applies_scaling_both_ways()
    {
        using var tmp = new TempFolder();
        var t = new Tensor(new float[] { -10, -9.5f, 0, 100, 12.5f, 3 }, 3, 2);
        Nifti.Write(tmp.File("i.nii.gz"), t, new NiftiWriteOptions { StoredType = ElementType.Int16, ScaleSlope = 0.5f, ScaleIntercept = -10, VoxelSpacing = new[] { 2f, 3f } });
        var img = Nifti.Read(tmp.File("i.nii.gz"));
        img.StoredType.Should().Be(ElementType.Int16);
        img.VoxelSpacing.Should().Equal(2f, 3f);
        img.Data.ToArray().Should().Equal(t.ToArray());
        var u8 = Nifti.ToBytes(new Tensor(new float[] { -3, 0, 7.6f, 300 }, 4), new NiftiWriteOptions { StoredType = ElementType.UInt8 });
        Nifti.Read(u8, "u8").Data.ToArray().Should().Equal(0, 0, 8, 255);
        FluentActions.Invoking(() => Nifti.ToBytes(Tensor.Zeros(1, 1, 1, 1, 1))).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Npz_stored_and_deflated_round_trip_by_member()
    {
        using var tmp = new TempFolder();
        var a = Tensor.Arange(6).Reshape(2, 3);
        var b = Tensor.Full(-1f, 4);
        foreach (bool compress in new[] { false, true })
        {
            string f = tmp.File($"z{compress}.npz");
            Npz.Write(f, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b }, compress);
            var all = Npz.Read(f);
            all["a"].ToArray().Should().Equal(a.ToArray());
            all["b"].ToArray().Should().Equal(b.ToArray());
        }
    }

    [Fact]
    public void Unknown_extensions_are_rejected()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("x.txt"), "hello");
        FluentActions.Invoking(() => PayloadFile.Read(tmp.File("x.txt"))).Should().Throw<PayloadFormatException>().WithMessage("*unknown payload extension*");
        FluentActions.Invoking(() => PayloadFile.Write(tmp.File("x.txt"), Tensor.Zeros(1))).Should().Throw<ArgumentException>();
    }
}
