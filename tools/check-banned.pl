#!/usr/bin/perl
# The banned constructs of STYLE.md 6 and 13, run by tools/check-style.sh on
# src/ connectors/ state/: sprintf, strcat, strcpy, atoi (and their cousins
# vsprintf, stpcpy, gets) and an assignment inside the condition of an if or
# a while ("if ((rc = f()) != 0)"). Comments and string literals are blanked
# first, so a word in a comment or a "=" in a string does not count.
# Also a relative include ("../"): it would reach a header that is not on the
# file's layer's include path and so get round the boundaries the build
# enforces (docs/architecture.md).
# And a log line naming a member ("member %s") that is not a log_*_member
# call: journald would not carry the member's key.
# And a connector's file (connectors/hubspot*, salesforce*, adobe*, spool*)
# including another connector's header: connectors share code only through
# the runtime (crm_*.h) and connector.h (DESIGN.md §1, issue 18).
# Prints file:line: what, and exits 1 when anything is found.
use strict;
use warnings;
my $bad = 0;
for my $f (@ARGV) {
    open(my $fh, '<', $f) or die "$f: $!";
    local $/; my $src = <$fh>; close $fh;
    # A header named through a folder ("ctl/ctl.h"), like a relative include
    # below, gets round an include path: the daemon has src/
    # on its include path, so "ctl/ctl.h" would reach src/ctl/ from
    # anywhere that sees src/ (issue 18). Project headers go by bare name.
    while ($src =~ /^[ \t]*#[ \t]*include[ \t]*"((?![^"\n]*\.\.\/)[^"\n]*\/[^"\n]*)"/mg) {
        my $line = 1 + (substr($src, 0, pos($src)) =~ tr/\n//);
        print "$f:$line: include through a folder \"$1\" (docs/architecture.md: headers by bare name)\n";
        $bad = 1;
    }
    if ($f =~ m{(?:^|/)connectors/(hubspot|salesforce|adobe|spool)[^/]*\.[ch]$}) {
        my $mine = $1;
        while ($src =~ /^[ \t]*#[ \t]*include[ \t]*"(hubspot|salesforce|adobe|spool)[^"\n]*"/mg) {
            next if $1 eq $mine;
            my $line = 1 + (substr($src, 0, pos($src)) =~ tr/\n//);
            print "$f:$line: a $mine file includes a $1 header (connectors share code through crm_*.h only)\n";
            $bad = 1;
        }
    }
    while ($src =~ /^[ \t]*#[ \t]*include[ \t]*"([^"\n]*\.\.\/[^"\n]*)"/mg) {
        my $line = 1 + (substr($src, 0, pos($src)) =~ tr/\n//);
        print "$f:$line: relative include \"$1\" (docs/architecture.md: a layer includes through its include path)\n";
        $bad = 1;
    }
    # A log line about one member goes through log_*_member, so that under
    # journald it carries CRMSYNC_MEMBER (issue 19; docs/troubleshooting.md).
    while ($src =~ /\blog_(error|warn|notice|info|debug)\s*\(((?:"(?:\\.|[^"\\])*"|[^()";]++|\((?2)\))*)\)/g) {
        my ($level, $args) = ($1, $2);
        if ($args =~ /"[^"\n]*\bmember %s/) {
            my $line = 1 + (substr($src, 0, pos($src) - length($args)) =~ tr/\n//);
            print "$f:$line: log_$level() names a member: use log_${level}_member() (journald CRMSYNC_MEMBER)\n";
            $bad = 1;
        }
    }
    # Blank out comments, string and character literals, keeping newlines so
    # that line numbers stay right.
    $src =~ s{(/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')}{
        my $m = $1; my $k = substr($m, 0, 1) eq '"' ? '""' : (substr($m,0,1) eq "'" ? "0" : " ");
        $k . ("\n" x ($m =~ tr/\n//))
    }gse;
    while ($src =~ /\b(sprintf|strcat|strcpy|atoi|vsprintf|stpcpy|gets)\s*\(/g) {
        my $line = 1 + (substr($src, 0, pos($src)) =~ tr/\n//);
        print "$f:$line: banned call $1() (STYLE.md 13: build strings with a bound)\n";
        $bad = 1;
    }
    while ($src =~ /\b(if|while)\s*(\((?:[^()]++|(?2))*\))/g) {
        my ($kw, $cond) = ($1, $2);
        my $end = pos($src);
        my $start = $end - length($cond);
        if ($cond =~ /(?<![=!<>+\-*\/%&|^])=(?!=)/) {
            my $line = 1 + (substr($src, 0, $start) =~ tr/\n//);
            print "$f:$line: assignment inside the condition of '$kw' (STYLE.md 6)\n";
            $bad = 1;
        }
        pos($src) = $start + 1;
    }
}
exit $bad;
