using Learner.Data;
using Learner.Data.Formats;
using Learner.Nn;

namespace Learner.Tests.Data;

public class FormatReaderTests
{
    public static TheoryData<string> NpyFiles()
    {
        var d = new TheoryData<string>();
        foreach (var p in DataFixtures.Section("arrays").EnumerateObject()) d.Add(p.Name);
        return d;
    }

    public static TheoryData<string> NiftiFiles()
    {
        var d = new TheoryData<string>();
        foreach (var p in DataFixtures.Section("nifti").EnumerateObject()) d.Add(p.Name);
        return d;
    }

    private static void ShouldMatch(Tensor t, int[] shape, double[] values, double relTol = 0)
    {
        t.ShapeArray.Should().Equal(shape);
        var got = t.ToArray();
        got.Length.Should().Be(values.Length);
        for (int i = 0; i < values.Length; i++)
        {
            if (relTol == 0) got[i].Should().Be((float)values[i], $"element {i}");
            else got[i].Should().BeApproximately((float)values[i], (float)(relTol * Math.Max(1, Math.Abs(values[i]))), $"element {i}");
        }
    }

    [Theory]
    [MemberData(nameof(NpyFiles))]
    public void Npy_reader_matches_numpy(string name)
    {
        var e = DataFixtures.Section("arrays").GetProperty(name);
        var t = Npy.Read(DataFixtures.PathOf(name));
        ShouldMatch(t, DataFixtures.Shape(e), DataFixtures.Values(e));
    }

    [Fact]
    public void Npy_header_reports_version_order_and_endianness()
    {
        var h = Npy.ReadHeader(File.ReadAllBytes(DataFixtures.PathOf("f8_be_fortran.npy")), "x");
        h.ElementType.Should().Be(ElementType.Float64);
        h.BigEndian.Should().BeTrue();
        h.FortranOrder.Should().BeTrue();
        h.Version.Should().Be(1);
        Npy.ReadHeader(File.ReadAllBytes(DataFixtures.PathOf("f4_v2.npy")), "x").Version.Should().Be(2);
        Npy.ReadHeader(File.ReadAllBytes(DataFixtures.PathOf("f4_v3.npy")), "x").Version.Should().Be(3);
    }

    [Theory]
    [InlineData("stored.npz")]
    [InlineData("deflated.npz")]
    [InlineData("single.npz")]
    public void Npz_reader_matches_numpy(string name)
    {
        var expected = DataFixtures.Section("npz").GetProperty(name);
        var arrays = Npz.Read(DataFixtures.PathOf(name));
        arrays.Keys.Should().BeEquivalentTo(expected.EnumerateObject().Select(p => p.Name));
        foreach (var m in expected.EnumerateObject())
            ShouldMatch(arrays[m.Name], DataFixtures.Shape(m.Value), DataFixtures.Values(m.Value));
    }

    [Fact]
    public void Npz_member_selection_names_the_members_when_ambiguous()
    {
        var path = DataFixtures.PathOf("deflated.npz");
        Npz.ReadArray(path, "b.npy").ShapeArray.Should().Equal(4);
        Npz.ReadArray(path, "c").ShapeArray.Should().Equal(3, 2);
        var act = () => Npz.ReadArray(path, null);
        act.Should().Throw<PayloadFormatException>().WithMessage("*3 members (a, b, c)*");
        var missing = () => Npz.ReadArray(path, "zz");
        missing.Should().Throw<PayloadFormatException>().WithMessage("*no member 'zz'*");
        PayloadFile.Read(DataFixtures.PathOf("single.npz")).ShapeArray.Should().Equal(2, 2, 3);
        PayloadFile.Read(path, new PayloadReadOptions { NpzMember = "a" }).ShapeArray.Should().Equal(2, 3);
    }

    [Theory]
    [MemberData(nameof(NiftiFiles))]
    public void Nifti_reader_matches_nibabel(string name)
    {
        var e = DataFixtures.Section("nifti").GetProperty(name);
        var img = Nifti.Read(DataFixtures.PathOf(name));
        ShouldMatch(img.Data, DataFixtures.Shape(e), DataFixtures.Values(e), relTol: 1e-6);
        img.BigEndian.Should().Be(e.GetProperty("big_endian").GetBoolean());
        var zooms = e.GetProperty("spacing").EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();
        img.VoxelSpacing.Should().Equal(zooms);
    }

    [Fact]
    public void Nifti_scaling_is_applied()
    {
        var img = Nifti.Read(DataFixtures.PathOf("i2_scaled.nii.gz"));
        img.StoredType.Should().Be(ElementType.Int16);
        img.ScaleSlope.Should().Be(0.5f);
        img.ScaleIntercept.Should().Be(-10f);
    }

    [Fact]
    public void Missing_files_raise_PayloadNotFoundException_naming_the_path()
    {
        var p = Path.Combine(Path.GetTempPath(), "learner-does-not-exist-" + Guid.NewGuid() + ".npy");
        var act = () => PayloadFile.Read(p);
        act.Should().Throw<PayloadNotFoundException>().Which.Path.Should().Be(p);
        var act2 = () => Npy.Read(p);
        act2.Should().Throw<PayloadNotFoundException>();
    }
}
