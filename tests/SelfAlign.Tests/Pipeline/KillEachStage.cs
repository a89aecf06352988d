using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace SelfAlign.Tests.Pipeline;

/// <summary>A place to kill a run.</summary>
/// <param name="Name">The stage, for messages.</param>
/// <param name="UnderWay">True while the stage has started (and left some output) but not finished.</param>
internal sealed record KillPoint(string Name, Func<bool> UnderWay);

/// <summary>
/// Runs the command line as a child process and kills it with SIGKILL inside each stage in turn,
/// starting it again after each kill. A stage counts as hit only if, with the child frozen
/// (SIGSTOP), its folder shows the stage under way and not done; the kill then lands exactly there.
/// </summary>
internal static class KillEachStage
{
    const int SigKill = 9, SigCont = 18, SigStop = 19;   // Linux x86-64 numbering

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Signal(int pid, int signal);

    /// <summary>Kills the CLI once inside each point, in order, then lets it finish; returns the points hit and the last run's exit code and output.</summary>
    public static (List<string> Hit, int ExitCode, string Output) Run(IReadOnlyList<KillPoint> points, params string[] args)
    {
        var hit = new List<string>();
        int next = 0;
        while (true)
        {
            var output = new StringBuilder();
            using var child = Start(args, output);
            bool killed = false;
            while (!killed && !child.HasExited)
            {
                // A point the child got past uncaught is dropped (a later one is under way); the caller sees it missing.
                while (next + 1 < points.Count && !points[next].UnderWay() && points.Skip(next + 1).Any(p => p.UnderWay())) next++;
                if (next < points.Count && points[next].UnderWay())
                {
                    Signal(child.Id, SigStop);
                    // Frozen, the child cannot move on between this check and the kill.
                    if (killed = points[next].UnderWay())
                    {
                        Signal(child.Id, SigKill);
                        hit.Add(points[next++].Name);
                    }
                    else Signal(child.Id, SigCont);
                }
                Thread.Sleep(2);
            }
            child.WaitForExit();
            if (!killed) return (hit, child.ExitCode, output.ToString());
        }
    }

    /// <summary>Starts the command line as a child process; its standard output and error are collected into <paramref name="output"/>.</summary>
    public static Process Start(string[] args, StringBuilder output)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SelfAlign.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        var child = Process.Start(info)!;
        child.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        child.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        return child;
    }
}
