using System.IO.MemoryMappedFiles;

namespace Learner.Data.Formats;

/// <summary>
/// The data of an NPY file read in place through a read-only memory map, for the files whose bytes already are the
/// values (float32 in the machine's byte order, C order or rank ≤ 1, data offset a multiple of 4): no decode, no copy on
/// the managed heap. Every other file is decoded by <see cref="Npy.Read(string, PayloadReadOptions?)"/>.
/// </summary>
/// <remarks>
/// <para>The header is validated as <see cref="Npy.ReadHeader(ReadOnlySpan{byte}, string)"/> validates a file read whole,
/// so a mapped file is accepted exactly when the decoding reader accepts it, and its values are the same bits.</para>
/// <para>The file's length and last-write time are recorded when it is mapped; <see cref="CheckUnchanged"/> compares them
/// before each use, so a file truncated or rewritten during a run is refused with a <see cref="PayloadFormatException"/>
/// naming it, before any mapped page is touched. (A truncation in the microseconds between that check and the copy that
/// follows it cannot be caught by any reader of a mapped file.)</para>
/// <para>Only the view is kept: the file handle and the <see cref="MemoryMappedFile"/> are closed as soon as the view
/// exists (a mapping outlives the descriptor it was made from), so a cohort of many files holds one mapping per file and
/// no open files. Files under <see cref="MinimumFileBytes"/> are not mapped (decoding them is cheap, and each mapping costs
/// at least a page and one of the process's limited mappings, <c>vm.max_map_count</c>); <see cref="MappedBytes"/> counts
/// whole pages. An <see cref="IOException"/> while mapping (no mappings left, a file system that cannot map) makes
/// <see cref="TryOpen"/> answer null, so the file is decoded instead. <see cref="Dispose"/> unmaps the view; a map that is
/// collected without it is unmapped by its finalizer.</para>
/// </remarks>
internal sealed unsafe class MappedNpy : IDisposable
{
    /// <summary>The smallest file that is mapped (64 KiB); smaller ones are decoded.</summary>
    public const long MinimumFileBytes = 64 * 1024;

    private readonly MemoryMappedViewAccessor _view;
    private readonly long _length;
    private readonly DateTime _lastWriteUtc;
    private byte* _base;
    private readonly int _dataOffset;
    private readonly int _count;
    private int _disposed;

    private MappedNpy(string path, MemoryMappedViewAccessor view, byte* basePointer, long length, DateTime lastWriteUtc, NpyHeader header, int count)
    {
        Path = path;
        _view = view;
        _base = basePointer;
        _length = length;
        _lastWriteUtc = lastWriteUtc;
        _dataOffset = header.DataOffset;
        _count = count;
        Shape = header.Shape;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The array's shape.</summary>
    public int[] Shape { get; }

    /// <summary>Bytes the map occupies: the file's length rounded up to whole pages (what a budget must count).</summary>
    public long MappedBytes => (_length + Environment.SystemPageSize - 1) / Environment.SystemPageSize * Environment.SystemPageSize;

    /// <summary>The values, in place.</summary>
    /// <exception cref="ObjectDisposedException">The map was closed.</exception>
    public ReadOnlySpan<float> Values
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            return new ReadOnlySpan<float>(_base + _dataOffset, _count);
        }
    }

    /// <summary>Whether <paramref name="path"/> names an NPY file (by extension), the only format that can be mapped.</summary>
    public static bool IsCandidate(string path) => path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase);

    /// <summary>Maps <paramref name="path"/> when its data needs no conversion and it has at least
    /// <see cref="MinimumFileBytes"/>; null when it does not, or when mapping fails with an <see cref="IOException"/>
    /// (decode it instead).</summary>
    /// <exception cref="PayloadNotFoundException">The file does not exist.</exception>
    /// <exception cref="PayloadFormatException">The file is malformed, truncated, too large or not a regular file (the
    /// decoding reader's errors, with the same messages).</exception>
    public static MappedNpy? TryOpen(string path, PayloadReadOptions options)
    {
        ByteSource.EnsureRegularFile(path);
        FileStream? stream = null;
        MemoryMappedFile? file = null;
        MemoryMappedViewAccessor? view = null;
        byte* pointer = null;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
            long length = stream.Length;
            if (length == 0) throw new PayloadFormatException(path, -1, "has length 0: it is empty, or not a regular file (a named pipe, socket or device); payloads must be regular files.");
            if (length > options.MaxFileBytes) throw new PayloadFormatException(path, -1, $"file of {length} bytes exceeds the {options.MaxFileBytes}-byte limit (PayloadReadOptions.MaxFileBytes).");
            if (length > int.MaxValue) return null; // beyond a span: the decoding reader refuses it with its own message
            if (length < MinimumFileBytes) return null;
            DateTime written = File.GetLastWriteTimeUtc(path);
            file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            stream = null; // owned by the map now
            view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            file.Dispose(); // closes the descriptor; the view stays valid
            file = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            byte* start = pointer + view.PointerOffset;
            var header = Npy.ReadHeader(new ReadOnlySpan<byte>(start, (int)length), path);
            bool inPlace = header.ElementType == ElementType.Float32 && header.BigEndian != BitConverter.IsLittleEndian
                && (!header.FortranOrder || header.Shape.Length <= 1) && header.DataOffset % sizeof(float) == 0;
            if (!inPlace) return null;
            int count = checked((int)((length - header.DataOffset) / sizeof(float)));
            var mapped = new MappedNpy(path, view, start, length, written, header, count);
            view = null; pointer = null;
            return mapped;
        }
        catch (IOException) { return null; } // cannot map (no mappings or descriptors left, …): decode it; the decoding reader reports a real fault
        catch (UnauthorizedAccessException e) { throw new PayloadFormatException(path, -1, "cannot map the file: " + e.Message, e); }
        finally
        {
            if (pointer != null) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            file?.Dispose();
            stream?.Dispose();
        }
    }

    /// <summary>Refuses a file whose length or last-write time differ from those it had when it was mapped.</summary>
    /// <exception cref="PayloadFormatException">The file was truncated, extended, rewritten or removed since.</exception>
    public void CheckUnchanged()
    {
        var info = new FileInfo(Path);
        if (!info.Exists)
            throw new PayloadFormatException(Path, -1, "was removed or renamed during the run (it was read through a memory map); payload files must not change while a run uses them.");
        if (info.Length != _length)
            throw new PayloadFormatException(Path, -1, $"is now {info.Length} bytes, {_length} when it was first read (truncated or extended during the run); payload files must not change while a run uses them.");
        if (info.LastWriteTimeUtc != _lastWriteUtc)
            throw new PayloadFormatException(Path, -1, $"was rewritten during the run (last written {info.LastWriteTimeUtc:O}, {_lastWriteUtc:O} when it was first read); payload files must not change while a run uses them.");
    }

    /// <summary>Unmaps a map collected without <see cref="Dispose"/>: the pointer acquired on the view's handle would
    /// otherwise keep that handle's own finalizer from unmapping it.</summary>
    ~MappedNpy() => Unmap();

    /// <summary>Unmaps the view (idempotent).</summary>
    public void Dispose()
    {
        Unmap();
        GC.SuppressFinalize(this);
    }

    private void Unmap()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
    }
}
