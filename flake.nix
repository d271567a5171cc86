{
  description = "Emily Sovereign: development shell with the same Python and tools as CI";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in {
      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            python311
            gnumake
            git
            ruff
            pre-commit
            restic
            prometheus
            prometheus-alertmanager
          ];
          # The project's own set-up builds .venv from requirements.lock, exactly as CI does.
          shellHook = ''
            export EMILY_HOME=''${EMILY_HOME:-$PWD/.emily}
            bash scripts/setup.sh test
            source .venv/bin/activate
          '';
        };
      });
    };
}
