namespace SelfAlign.Text.Nlp;

/// <summary>
/// CPython's <c>random.Random</c> (the MT19937 Mersenne Twister) for the calls a reference
/// algorithm makes: seeded with an integer, <c>random()</c>, <c>gauss()</c> and <c>choice()</c>
/// draw exactly the numbers Python draws, so a seeded run reproduces Python's.
/// </summary>
public sealed class PythonRandom
{
    const int N = 624, M = 397;
    readonly uint[] _mt = new uint[N];
    int _index;
    double? _gaussNext;

    /// <summary>A generator seeded as <c>random.Random(seed)</c>.</summary>
    public PythonRandom(ulong seed) => Seed(seed);

    /// <summary>Reseeds as <c>random.seed(seed)</c> does for a non-negative integer (init_by_array on its 32-bit words).</summary>
    public void Seed(ulong seed)
    {
        uint[] key = seed >> 32 == 0 ? [(uint)seed] : [(uint)seed, (uint)(seed >> 32)];
        _mt[0] = 19650218u;
        for (int i = 1; i < N; i++) _mt[i] = 1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i;
        int a = 1, b = 0;
        for (int k = Math.Max(N, key.Length); k > 0; k--)
        {
            _mt[a] = (_mt[a] ^ ((_mt[a - 1] ^ (_mt[a - 1] >> 30)) * 1664525u)) + key[b] + (uint)b;
            a++;
            b++;
            if (a >= N) { _mt[0] = _mt[N - 1]; a = 1; }
            if (b >= key.Length) b = 0;
        }
        for (int k = N - 1; k > 0; k--)
        {
            _mt[a] = (_mt[a] ^ ((_mt[a - 1] ^ (_mt[a - 1] >> 30)) * 1566083941u)) - (uint)a;
            a++;
            if (a >= N) { _mt[0] = _mt[N - 1]; a = 1; }
        }
        _mt[0] = 0x80000000u;
        _index = N;
        _gaussNext = null;
    }

    uint Next32()
    {
        if (_index >= N)
        {
            for (int k = 0; k < N; k++)
            {
                uint y = (_mt[k] & 0x80000000u) | (_mt[(k + 1) % N] & 0x7fffffffu);
                _mt[k] = _mt[(k + M) % N] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : 0x9908b0dfu);
            }
            _index = 0;
        }
        uint x = _mt[_index++];
        x ^= x >> 11;
        x ^= (x << 7) & 0x9d2c5680u;
        x ^= (x << 15) & 0xefc60000u;
        return x ^ (x >> 18);
    }

    /// <summary><c>random()</c>: a double in [0, 1) from 53 random bits.</summary>
    public double NextDouble()
    {
        uint a = Next32() >> 5, b = Next32() >> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }

    /// <summary><c>gauss(mu, sigma)</c>: Box-Muller with the second value kept for the next call.</summary>
    public double Gauss(double mu, double sigma)
    {
        double z;
        if (_gaussNext is { } kept)
        {
            z = kept;
            _gaussNext = null;
        }
        else
        {
            double angle = NextDouble() * (2 * Math.PI), radius = Math.Sqrt(-2.0 * Math.Log(1.0 - NextDouble()));
            z = Math.Cos(angle) * radius;
            _gaussNext = Math.Sin(angle) * radius;
        }
        return mu + z * sigma;
    }

    /// <summary><c>choice</c>'s index: uniform below <paramref name="n"/> by rejection on <c>getrandbits(n.bit_length())</c>.</summary>
    public int Below(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "must be positive");
        int bits = 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)n);
        uint r;
        do r = Next32() >> (32 - bits); while (r >= n);
        return (int)r;
    }
}
