return SelfAlign.Cli.CliApp.Run(args);
