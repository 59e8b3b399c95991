#!/bin/bash
# Peak RSS and wall time of pfce predict, one binary against another, 3 runs each, interleaved.
set -e
old=$1 new=$2
for ckpt in /work/main/runs/synthetic-small/dense/train/last.ckpt:w16 /tmp/zm/w32/last.ckpt:w32; do
  c=${ckpt%%:*}; w=${ckpt##*:}
  for img in strip.png big.png; do
    for zoom in 1 2; do
      [ "$img" = strip.png ] && [ $zoom = 2 ] && continue
      for run in 1 2 3; do
        for side in old new; do
          b=$old; [ $side = new ] && b=$new
          /usr/bin/time -f "%M %e" -o t.txt $b predict --checkpoint $c --input $img --out o_$side.png --no-overlay --device cpu --force --zoom $zoom >/dev/null 2>&1
          read kb s < t.txt
          echo "$w $img zoom=$zoom $side run=$run peak_rss_mb=$((kb/1024)) wall_s=$s"
        done
        cmp -s o_old.png o_new.png && echo "$w $img zoom=$zoom masks identical" || echo "$w $img zoom=$zoom MASKS DIFFER"
      done
    done
  done
done
