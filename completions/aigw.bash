# bash completion for aigw, generated from the app by scripts/gen_completions.py
_aigw() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" path="" words="" i w skip=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        if ((skip)); then skip=0; continue; fi
        case "$w" in
            --aspect-ratio|--batch|--by|--chunk-seconds|--concurrency|--count|--deadline|--enhance|--fallback|--file|--for|--format|--guidance|--kind|--language|--max-cost|--max-line-count|--max-line-width|--max-size|--model|--negative-prompt|--older-than|--output|--prompt|--provider|--quality|--resume|--runs|--search|--seed|--since|--size|--steps|--style|--temperature|--timeout|--timestamps|-a|-f|-l|-m|-n|-o|-p|-s) skip=1; continue ;;
            -*) continue ;;
        esac
        case "$path" in
            "") case "$w" in bench|cache|config|generate|logs|models|stats|transcribe) path="${path:+$path }$w" ;; esac ;;
            "cache") case "$w" in clear|list|path|prune) path="${path:+$path }$w" ;; esac ;;
            "config") case "$w" in get|keys|path|set|show|unset) path="${path:+$path }$w" ;; esac ;;
            "config keys") case "$w" in list|set|unset) path="${path:+$path }$w" ;; esac ;;
        esac
    done
    case "$prev" in
        -m|--model|--fallback) COMPREPLY=($(compgen -W "$(aigw models 2>/dev/null)" -- "$cur")); return ;;
        -o|--output|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    case "$path" in
        "") words="bench cache config generate logs models stats transcribe --help -h --verbose -v --quiet -q --version --install-completion --show-completion" ;;
        "bench") words="--help -h --yes -y --json --model -m --prompt --file --runs --provider -p" ;;
        "cache") words="clear list path prune --help -h" ;;
        "cache clear") words="--help -h --results" ;;
        "cache list") words="--help -h --json" ;;
        "cache path") words="--help -h" ;;
        "cache prune") words="--help -h --results --older-than --max-size" ;;
        "config") words="get keys path set show unset --help -h" ;;
        "config get") words="--help -h" ;;
        "config keys") words="list set unset --help -h" ;;
        "config keys list") words="--help -h" ;;
        "config keys set") words="--help -h" ;;
        "config keys unset") words="--help -h" ;;
        "config path") words="--help -h" ;;
        "config set") words="--help -h" ;;
        "config show") words="--help -h --json" ;;
        "config unset") words="--help -h" ;;
        "generate") words="--help -h --json --no-substitute --fallback-on-refusal --dry-run --allow-unpriced --cache --no-cache --refresh --progress --new --model -m --size -s --aspect-ratio -a --quality --style --enhance -n --format -f --seed --negative-prompt --steps --guidance --output -o --provider -p --fallback --deadline --timeout --max-cost --batch --concurrency --resume" ;;
        "logs") words="--help -h --json --failed --last --path -n --count --kind --model -m --provider -p --since --search --for" ;;
        "models") words="--help -h --available --check --json --kind --provider -p" ;;
        "stats") words="--help -h --json --since --by" ;;
        "transcribe") words="--help -h --translate --diarize --json --no-substitute --dry-run --allow-unpriced --cache --no-cache --refresh --progress --new --model -m --language -l --prompt --format -f --temperature --timestamps --max-line-width --max-line-count --output -o --provider -p --fallback --deadline --timeout --max-cost --chunk-seconds --batch --concurrency --resume" ;;
    esac
    if [[ "$cur" != -* && "$path" == "transcribe" ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    fi
}
complete -o default -F _aigw aigw
